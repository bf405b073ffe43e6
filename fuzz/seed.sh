#!/bin/sh
# Fills fuzz/corpus/<target> with the committed seeds and the repository's test data.
# Run from fuzz/ (or anywhere: it changes there first).
set -e
cd "$(dirname "$0")"
for t in seeds/*; do
    mkdir -p "corpus/${t#seeds/}"
    cp "$t"/* "corpus/${t#seeds/}/"
done
cp ../tests/data/vtk/*.vtk ../tests/data/openfoam/*.vtk corpus/read_legacy/
cp ../tests/data/openfoam/*.vtu ../tests/data/vtk/surface_inline_zlib.vtp corpus/read_vtu_inline/
cp ../tests/data/vtk/appended_*.vtu ../tests/data/vtk/surface_appended_raw.vtp corpus/read_vtu_appended/
