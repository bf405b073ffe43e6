#!/bin/bash
# Makes the known-answer OpenFOAM cases of issue 18 (run by hand; needs OpenFOAM v1912, numpy):
# three meshes at two refinements, the analytic U at the cell centres and patch faces,
# OpenFOAM's Gauss-linear grad(U), and foamToVTK's default export of each.
#
#   cases/openfoam_known_answer/make.sh              # all six cases
#   cases/openfoam_known_answer/make.sh tets_1       # one case (MESH_LEVEL)
#   NABLA=target/release/nabla [NABLA_ONLY=1] cases/openfoam_known_answer/make.sh
#                                                    # and nabla on each (see NABLA HOOK below;
#                                                    # NABLA_ONLY=1: on the cases as they are)
#
# Then: python3 cases/openfoam_known_answer/errors.py
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"

if ! command -v blockMesh >/dev/null || [ -z "${WM_PROJECT_DIR:-}" ]; then
    bashrc="$(dpkg -L openfoam 2>/dev/null | grep 'etc/bashrc$' | head -1 || true)"
    [ -n "$bashrc" ] || { echo "make.sh: OpenFOAM not found (apt-get install openfoam)" >&2; exit 1; }
    export WM_PROJECT_DIR="$(dirname "$(dirname "$bashrc")")"
    set +eu
    # the Debian package's bashrc complains about helper scripts it does not ship; harmless
    source "$bashrc" >/dev/null 2>&1
    set -eu
fi

cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=(skewed_hex_1 skewed_hex_2 tets_1 tets_2 channel_1 channel_2)

for c in "${cases[@]}"; do
    mesh="${c%_*}"; level="${c##*_}"
    echo "== $c"
  if [ -z "${NABLA_ONLY:-}" ]; then
    rm -rf "$c"
    python3 gen_case.py setup "$c" "$mesh" "$level"
    (
        cd "$c"
        if [ -f system/blockMeshDict ]; then blockMesh > log.blockMesh 2>&1; fi
        checkMesh > log.checkMesh 2>&1
        # the extra checks flag cells with few internal faces (corners, thin wall cells) as
        # having a small determinant: a diagnostic for the solver, not a broken mesh
        checkMesh -allGeometry -allTopology > log.checkMesh.all 2>&1 || true
        grep -E "cells:|Max aspect ratio|Mesh non-orthogonality Max|Max skewness|Failed|Mesh OK|\*\*\*" log.checkMesh | sed 's/^/   /'
        postProcess -func writeCellCentres -time 0 > log.writeCellCentres 2>&1
        rm -f 0/Cx 0/Cy 0/Cz 0/V
    )
    python3 gen_case.py writeU "$c"
    (
        cd "$c"
        postProcess -func "grad(U)" -time 0 > log.gradU 2>&1
        # for comparison only (not what the table's "Gauss linear" rows use): OpenFOAM's
        # least-squares gradient of the same data, in leastSquares/grad(U)
        tmp="$(mktemp -d)"
        cp -r 0 constant system "$tmp"
        rm -f "$tmp/0/grad(U)"
        sed -i 's/^\( *default *\)Gauss linear;/\1leastSquares;/' "$tmp/system/fvSchemes"
        (cd "$tmp" && postProcess -func "grad(U)" -time 0 > log.gradU 2>&1)
        mkdir -p leastSquares
        cp "$tmp/0/grad(U)" leastSquares/
        rm -rf "$tmp"
        foamToVTK -time 0 > log.foamToVTK 2>&1
        ls 0 VTK | tr '\n' ' '; echo
    )
  fi
    # NABLA HOOK: with NABLA=/path/to/nabla and a nabla_case.toml beside this script (a case
    # file in which {case} stands for the case's name, e.g. reading ../../{case} or
    # ../../{case}/VTK/{case}_0.vtm), each case is run into nabla/CASE/ and errors.py
    # picks up the grad(U) and lap(U) arrays of what it writes there.
    if [ -n "${NABLA:-}" ] && [ -f nabla_case.toml ]; then
        rm -rf "nabla/$c"; mkdir -p "nabla/$c"
        sed "s/{case}/$c/g" nabla_case.toml > "nabla/$c/case.toml"
        "$NABLA" "nabla/$c" > "nabla/$c/log.nabla" 2>&1 || echo "   nabla failed: nabla/$c/log.nabla"
    fi
done
