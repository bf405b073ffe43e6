//! Writing VTK files: nabla's writer against vtkio's (the writer nabla used before, which
//! escapes every base64 character through quick-xml), on taylor_green's output: a 64³
//! lattice with 16 arrays (1, 3 and 9 components, 48 values per point), Float64,
//! uncompressed, written to a file. Prints `RATIO` lines (ours / vtkio's).

use std::hint::black_box;

use criterion::{Criterion, Throughput};
use nabla::io::{Compression, ImageGrid, PointArray, Precision, WriteOptions, write_vti_with};
use vtkio::model::{
    Attribute, Attributes, ByteOrder, DataArray, DataSet, ElementType, Extent, IOBuffer,
    ImageDataPiece, Piece, Version,
};

mod common;

const N: usize = 64;

/// 16 arrays of smooth values (as a solver's would be), 48 values per point.
fn arrays(n: usize) -> Vec<PointArray> {
    let widths = [3, 9, 1, 3, 3, 1, 1, 1, 1, 1, 1, 3, 9, 3, 3, 6];
    widths
        .iter()
        .enumerate()
        .map(|(k, &c)| {
            let values = (0..n * c)
                .map(|i| ((i as f64) * 1e-3 + k as f64).sin())
                .collect();
            PointArray::new(format!("a{k}"), c, values)
        })
        .collect()
}

/// The same file through vtkio's model and XML writer.
fn write_with_vtkio(path: &std::path::Path, dims: [usize; 3], arrays: &[PointArray]) {
    let extent = Extent::Ranges(std::array::from_fn(|d| 0..=dims[d] as i32 - 1));
    let point = arrays
        .iter()
        .map(|a| {
            Attribute::DataArray(DataArray {
                name: a.name.clone(),
                elem: ElementType::Generic(a.components as u32),
                data: IOBuffer::F64(a.values.clone()),
            })
        })
        .collect();
    let data = DataSet::ImageData {
        extent: extent.clone(),
        origin: [0.0; 3],
        spacing: [0.1; 3],
        meta: None,
        pieces: vec![Piece::Inline(Box::new(ImageDataPiece {
            extent,
            data: Attributes {
                point,
                cell: Vec::new(),
            },
        }))],
    };
    let vtk = vtkio::Vtk {
        version: Version::new_xml(1, 0),
        byte_order: ByteOrder::LittleEndian,
        title: String::new(),
        file_path: None,
        data,
    };
    let file = vtk
        .try_into_xml_format(vtkio::xml::Compressor::None, 0)
        .unwrap();
    let mut bytes = Vec::new();
    file.write(&mut bytes).unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn main() {
    let mut c = Criterion::default().sample_size(10).configure_from_args();
    let grid = ImageGrid {
        origin: [0.0; 3],
        spacing: [0.1; 3],
        dims: [N; 3],
    };
    let n = grid.num_points();
    let a = arrays(n);
    let dir = tempfile::tempdir().unwrap();
    let ours = dir.path().join("ours.vti");
    let theirs = dir.path().join("vtkio.vti");
    let opts = WriteOptions::default();
    let small = WriteOptions {
        precision: Precision::Float32,
        compression: Compression::Lz4,
        ..WriteOptions::default()
    };

    let mut g = c.benchmark_group("write_vti");
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("nabla", |b| {
        b.iter(|| write_vti_with(&ours, &grid, black_box(&a), &opts).unwrap())
    });
    g.bench_function("nabla float32 lz4", |b| {
        b.iter(|| write_vti_with(&ours, &grid, black_box(&a), &small).unwrap())
    });
    g.bench_function("vtkio", |b| {
        b.iter(|| write_with_vtkio(&theirs, grid.dims, black_box(&a)))
    });
    g.finish();

    common::ratio(
        "write 64³ × 16 arrays, Float64 / vtkio's writer",
        n,
        5,
        || write_vti_with(&ours, &grid, black_box(&a), &opts).unwrap(),
        || write_with_vtkio(&theirs, grid.dims, black_box(&a)),
    );
    common::ratio(
        "write 64³ × 16 arrays, Float32 + LZ4 / vtkio's writer (Float64)",
        n,
        5,
        || write_vti_with(&ours, &grid, black_box(&a), &small).unwrap(),
        || write_with_vtkio(&theirs, grid.dims, black_box(&a)),
    );
    for threads in [1, 2] {
        common::on_threads(threads, || {
            common::ratio(
                &format!("write on {threads} thread(s) / vtkio's writer"),
                n,
                5,
                || write_vti_with(&ours, &grid, black_box(&a), &opts).unwrap(),
                || write_with_vtkio(&theirs, grid.dims, black_box(&a)),
            )
        });
    }
    let sizes = [&ours, &theirs].map(|p| std::fs::metadata(p).map_or(0, |m| m.len()));
    println!(
        "SIZES ours (last written) {} B, vtkio {} B",
        sizes[0], sizes[1]
    );
}
