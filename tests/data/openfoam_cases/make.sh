#!/usr/bin/env bash
# Remakes the OpenFOAM cases of tests/it/openfoam.rs (OpenFOAM v1912, Debian's `openfoam` and
# `openfoam-examples`). Run from anywhere: bash tests/data/openfoam_cases/make.sh
#
#   cavity/             icoFoam's cavity (20 x 20 x 1) after two steps (times 0, 0.005, 0.01),
#                       ASCII; hand-made 0/S (symmTensor), 0/T (#include, $var, patch group
#                       keys, #includeEtc), 0/k (regular-expression keys); in 0.01 also
#                       grad(U) (volTensorField) and C (writeCellCentres); VTK/ is foamToVTK's
#                       output of 0.01 (the reference for cell counts and values)
#   cavity_binary/      the same converted to `format binary` (foamFormatConvert)
#   cavity_gz/          the same, ASCII with writeCompression on (every file .gz)
#   cavity_decomposed/  the same decomposed into 2 processors (decomposePar, simple 2 1 1);
#                       the root has no time directory and no polyMesh
#   mixed/              hand-made mesh (make_fields.py mixed): hexahedra, a polyhedron,
#                       pyramids, prisms, tetrahedra; 0/C and 0/V from OpenFOAM; VTK/ from foamToVTK
#   dual/               polyDualMesh of a 3 x 3 x 3 blockMesh cube (polyhedra, and hexahedra
#                       inside); 0/C from OpenFOAM; VTK/ from foamToVTK
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bashrc="$(dpkg -L openfoam | grep '/etc/bashrc$' | head -1)"
export WM_PROJECT_DIR="$(dirname "$(dirname "$bashrc")")"
set +eu
# shellcheck disable=SC1090
source "$bashrc" 2> /dev/null
set -eu
tutorial=/usr/share/doc/openfoam-examples/examples/incompressible/icoFoam/cavity/cavity
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
log() { "$@" > "log.$1" 2>&1 || { cat "log.$1"; exit 1; }; }

# --- cavity ------------------------------------------------------------------------------
cp -r "$tutorial" "$work/cavity"
cd "$work/cavity"
chmod -R u+w .
foamDictionary -entry endTime -set 0.01 system/controlDict > /dev/null
foamDictionary -entry writeInterval -set 1 system/controlDict > /dev/null
python3 "$here/make_fields.py" cavity-fields .
log blockMesh
log icoFoam
log postProcess -func 'grad(U)' -time 0.01
log postProcess -func writeCellCentres -time 0.01
rm 0.01/Cx 0.01/Cy 0.01/Cz
log foamToVTK -time 0.01
cat > system/decomposeParDict <<'EOF'
FoamFile
{
    version     2.0;
    format      ascii;
    class       dictionary;
    object      decomposeParDict;
}
numberOfSubdomains 2;
method          simple;
coeffs
{
    n           (2 1 1);
}
EOF

cp -r "$work/cavity" "$work/cavity_binary"
cd "$work/cavity_binary"
rm -rf VTK
foamDictionary -entry writeFormat -set binary system/controlDict > /dev/null
log foamFormatConvert

cp -r "$work/cavity" "$work/cavity_gz"
cd "$work/cavity_gz"
rm -rf VTK
foamDictionary -entry writeCompression -set on system/controlDict > /dev/null
log foamFormatConvert

cp -r "$work/cavity" "$work/cavity_decomposed"
cd "$work/cavity_decomposed"
rm -rf VTK
log decomposePar -time '0:'
rm -rf 0 0.005 0.01 constant/polyMesh

# --- mixed -------------------------------------------------------------------------------
mkdir -p "$work/mixed/system" "$work/mixed/0"
cp "$tutorial/system/"{controlDict,fvSchemes,fvSolution} "$work/mixed/system/"
chmod -R u+w "$work/mixed"
cd "$work/mixed"
python3 "$here/make_fields.py" mixed .
log checkMesh
grep -q "Mesh OK" log.checkMesh || { cat log.checkMesh; exit 1; }
log postProcess -func writeCellCentres -time 0
rm 0/Cx 0/Cy 0/Cz
log postProcess -func writeCellVolumes -time 0
log foamToVTK -time 0

# --- dual --------------------------------------------------------------------------------
mkdir -p "$work/dual"
cp -r "$tutorial/system" "$work/dual/"
chmod -R u+w "$work/dual"
cd "$work/dual"
cat > system/blockMeshDict <<'EOF'
FoamFile
{
    version     2.0;
    format      ascii;
    class       dictionary;
    object      blockMeshDict;
}
vertices ((0 0 0) (1 0 0) (1 1 0) (0 1 0) (0 0 1) (1 0 1) (1 1 1) (0 1 1));
blocks (hex (0 1 2 3 4 5 6 7) (3 3 3) simpleGrading (1 2 1));
boundary
(
    walls { type wall; faces ((0 4 7 3) (2 6 5 1) (1 5 4 0) (3 7 6 2)); }
    ends { type patch; faces ((0 3 2 1) (4 5 6 7)); }
);
EOF
log blockMesh
log polyDualMesh 80 -overwrite
mkdir -p 0
log postProcess -func writeCellCentres -time 0
rm 0/Cx 0/Cy 0/Cz
log foamToVTK -time 0

# --- into the tests ----------------------------------------------------------------------
cd "$work"
for c in cavity cavity_binary cavity_gz cavity_decomposed mixed dual; do
    rm -rf "$c"/log.* "$c"/system/blockMeshDict.orig "$c"/constant/polyMesh/sets
    find "$c" -name '*.orig' -delete
    find "$c" -type l -delete   # decomposePar links processor*/TIME/uniform to the root
    rm -rf "${here:?}/$c"
    cp -r "$c" "$here/$c"
done
du -sh "$here"
