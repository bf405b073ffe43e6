#!/bin/sh
# Remakes cavity/: OpenFOAM's icoFoam cavity tutorial run to t = 0.3 (written every 0.1 s)
# and exported by foamToVTK in its default layout (XML: cavity_<i>.vtm with the internal
# mesh and the boundary patches, and cavity.vtm.series). OpenFOAM v1912 (Debian's
# `openfoam`, `openfoam-examples`).
set -e
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r /usr/share/doc/openfoam-examples/examples/incompressible/icoFoam/cavity/cavity "$tmp/"
chmod -R u+w "$tmp/cavity"
cd "$tmp/cavity"
sed -i 's/^endTime .*/endTime         0.3;/' system/controlDict
export WM_PROJECT_DIR=/usr/share/openfoam
set +u
. "$WM_PROJECT_DIR/etc/bashrc" 2>/dev/null || true
blockMesh > log.blockMesh
icoFoam > log.icoFoam
foamToVTK > log.foamToVTK
rm -rf "$here/cavity"
cp -r VTK "$here/cavity"
