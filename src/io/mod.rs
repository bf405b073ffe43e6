//! VTK input and output: reading through [`vtkio`], writing our own XML (arrays encoded
//! in parallel).
//!
//! Reading: [`read_mesh`] takes the points (and cells, where the file has them) of a legacy
//! `.vtk` file (binary big-endian or ASCII) or an XML `.vtu` / `.vtp` file, such as the
//! output of OpenFOAM's `foamToVTK`, with their point-data and cell-data arrays, and of
//! the pieces a `.pvtu` / `.pvtp` file lists (the output of a parallel run), and of
//! foamToVTK's multiblock `.vtm` (the internal mesh with its boundary patches, as
//! [`Patch`]es); [`read_series`] lists the times and files of a `.vtm.series` or `.pvd`
//! series; [`read_csv`] reads measured values at points without a mesh; [`read_openfoam`]
//! reads an OpenFOAM case directory natively (mesh, vol fields, patch values; ASCII,
//! binary, gzipped, decomposed) and [`write_openfoam_field`] writes a field back into it.
//!
//! Input limits: both readers take regular files only (a FIFO or a device such as
//! `/dev/zero` is refused, not read), of at most [`max_input_bytes`] (4 GiB, or the
//! environment variable `NABLA_MAX_INPUT_BYTES`); compressed XML arrays may together
//! inflate to at most the same limit, checked from their block headers before anything is
//! inflated; the counts of a legacy file's sections (`POINTS n`, `CELLS n size`, …) must
//! fit in the file. So the memory a reader allocates is bounded by the limit whatever the
//! file claims.
//!
//! Writing: every file is binary XML (inline base64), every array is named by the caller
//! (`grad(U)`, `curl(U)`) and written as `Float64`, uncompressed; the `_with` variants take
//! [`WriteOptions`]: `Float32` values, LZ4 or zlib compression. The first array of 1, 3
//! and 9 components is marked as the active scalars, vectors and tensors, which ParaView's
//! Glyph and Stream Tracer use by default (they list only 3-component arrays as vectors:
//! write planar vectors with z = 0).
//!
//! | function | VTK data set | for |
//! |---|---|---|
//! | [`write_vti`] | `ImageData` | lattices ([`ImageGrid`]) |
//! | [`write_vtp`] | `PolyData`, one vertex cell per point | bare point clouds |
//! | [`write_vtu`] | `UnstructuredGrid` with the cells of a [`Mesh`] | meshes read with [`read_mesh`] |
//! | [`write_pvd`] | `Collection` | a time series of the files above |
//!
//! Every file is written under a temporary name in its target directory and renamed into
//! place, so a failed write leaves neither a partial file nor a temporary one. Arguments are
//! checked before anything is written.
//!
//! ```
//! use nabla::io::{ImageGrid, PointArray, write_vti};
//! # fn main() -> nabla::Result<()> {
//! let dir = tempfile::tempdir().unwrap();
//! let grid = ImageGrid { origin: [0.0; 3], spacing: [0.5; 3], dims: [3, 2, 1] };
//! // x fastest, then y, then z: the point at flat index i is grid.point(i).
//! let f: Vec<f64> = (0..grid.num_points()).map(|i| grid.point(i)[0]).collect();
//! assert_eq!(f, [0.0, 0.5, 1.0, 0.0, 0.5, 1.0]);
//! let path = dir.path().join("f.vti");
//! write_vti(&path, &grid, &[PointArray::new("grad(f)", 1, f)])?;
//! assert!(path.is_file());
//! # Ok(())
//! # }
//! ```

mod any;
mod appended;
mod atomic;
mod csv;
mod encode;
pub mod geometry;
mod legacy;
mod listing;
mod merge;
mod mesh;
mod multiblock;
mod openfoam;
mod parallel;
pub(crate) mod read;
mod series;
mod write;
mod xml;

pub use any::{openfoam_dir, read_any, read_mesh_at};
pub(crate) use atomic::{AtomicFile, write_atomically};
pub use csv::read_csv;
pub use encode::{Compression, Precision, WriteOptions};
pub use mesh::{Cells, Mesh, Patch};
pub use openfoam::{
    FieldToWrite, Layout, OpenFoamOptions, TimeSelection, openfoam_times, read_openfoam,
    read_openfoam_with, select_openfoam_times, write_openfoam_cell_fields, write_openfoam_field,
};
pub use parallel::{write_pvti, write_pvtp, write_pvtu};
pub use read::{DEFAULT_MAX_INPUT_BYTES, max_input_bytes, read_mesh};
pub use series::{is_series, read_series};
pub use write::{
    ImageGrid, PointArray, write_pvd, write_vti, write_vti_piece_with, write_vti_with, write_vtp,
    write_vtp_with, write_vtu, write_vtu_with,
};
