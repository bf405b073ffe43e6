//! Fuzzing's regressions, on stable: the inputs that crashed, hung or blew the memory of a
//! target under `fuzz/` (cargo-fuzz, nightly), replayed through the same calls. Each must
//! give a typed error or a result, without a panic. The committed seed corpora are replayed
//! too, so the targets' code paths stay exercised on stable.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use nabla::field::expr::{Expr, ExprField};

/// What the `expr` target does with one input.
fn expr(src: &str) {
    match Expr::parse(src) {
        Err(e) => {
            let _ = (e.caret(), e.to_string(), e.column());
        }
        Ok(e) => {
            for names in [&["x", "y", "z"][..], &[]] {
                match e.bind_with(names, &[("t", 0.5), ("nu", 1e-2)]) {
                    Err(err) => {
                        let _ = (err.caret(), err.to_string());
                    }
                    Ok(b) => {
                        let _ = b.eval_f64(&[0.25, -1.5, 3.0][..names.len()]);
                        let tape = nabla::autodiff::Tape::new();
                        let vars: Vec<_> = (0..names.len())
                            .map(|i| {
                                tape.var(nabla::autodiff::Tensor::column(vec![
                                    0.25 * i as f64,
                                    -1.5,
                                ]))
                            })
                            .collect();
                        let _ = b.eval(&tape, &vars).value();
                    }
                }
            }
        }
    }
    let comps: Vec<&str> = src.lines().take(3).collect();
    if let Err(e) = ExprField::new(&comps, 2, 0.0, &[("nu", 1e-2)]) {
        let _ = e.to_string();
    }
}

/// What the `case_check` target does with one input (without its size filter: the inputs
/// here are small).
fn case_check(text: &[u8]) -> nabla::Result<usize> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("case.toml"), text).unwrap();
    nabla::case::check(dir.path())
}

/// What the `read_*` targets do with one input, as a file named `input.<ext>`.
fn read_mesh(ext: &str, bytes: &[u8]) -> nabla::Result<usize> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("input.{ext}"));
    std::fs::write(&path, bytes).unwrap();
    if ext == "csv" {
        let (mesh, _) = nabla::io::read_csv(&path)?;
        let _ = mesh.bounds();
        return Ok(mesh.points.len());
    }
    let mesh = nabla::io::read_mesh(&path)?;
    let _ = (mesh.num_cells(), mesh.bounds(), mesh.cell_centroids());
    Ok(mesh.points.len())
}

/// The valid pieces beside the `read_parallel` target's input, and the data files beside
/// the `case_data` target's `case.toml`: the targets' own.
fn fuzz_file(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz")
            .join(name),
    )
    .unwrap()
}

/// What the `read_parallel` target does with one input: read as `input.pvtu` and as
/// `input.pvtp`, beside the pieces `p0.vtu`, `p1.vtu`, `s0.vtp` and `s1.vtp`; the points of
/// the reads that succeed.
fn read_parallel(bytes: &[u8]) -> Vec<nabla::Result<usize>> {
    let dir = tempfile::tempdir().unwrap();
    let tet = fuzz_file("seeds/read_vtu_inline/ascii.vtu");
    let triangle = fuzz_file("seeds/read_vtu_inline/poly.vtu");
    for (name, b) in [
        ("p0.vtu", &tet),
        ("p1.vtu", &tet),
        ("s0.vtp", &triangle),
        ("s1.vtp", &triangle),
    ] {
        std::fs::write(dir.path().join(name), b).unwrap();
    }
    ["pvtu", "pvtp"]
        .iter()
        .map(|ext| {
            let path = dir.path().join(format!("input.{ext}"));
            std::fs::write(&path, bytes).unwrap();
            let mesh = nabla::io::read_mesh(&path)?;
            let _ = (mesh.num_cells(), mesh.bounds(), mesh.cell_centroids());
            Ok(mesh.points.len())
        })
        .collect()
}

/// What the `case_data` target does with one input: `case.toml` beside the CSV file
/// `d.csv` (27 samples of `u`, `p`, `g`) and the mesh `m.vtu`.
fn case_data(text: &[u8]) -> nabla::Result<usize> {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("x,y,z,u,p,g:0,g:1,g:2\n");
    for k in 0..27 {
        let (x, y, z) = (k % 3, (k / 3) % 3, k / 9);
        csv.push_str(&format!("{x},{y},{z},{x},{},1,0,0\n", x * y));
    }
    std::fs::write(dir.path().join("d.csv"), csv).unwrap();
    std::fs::write(
        dir.path().join("m.vtu"),
        fuzz_file("seeds/read_vtu_inline/ascii.vtu"),
    )
    .unwrap();
    std::fs::write(dir.path().join("case.toml"), text).unwrap();
    nabla::case::check(dir.path())
}

/// What the `checkpoint` target does with one input.
fn checkpoint(bytes: &[u8]) -> nabla::Result<()> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("checkpoint.json");
    std::fs::write(&path, bytes).unwrap();
    let c = nabla::pinn::Checkpoint::load(&path)?;
    let mut p = c.mlp.params();
    let g = vec![0.5; p.len()];
    let mut adam = c.adam.clone();
    let _ = adam.step(&mut p, &g, 1e-3);
    c.mlp.clone().set_params(&p)?;
    let _ = nabla::pinn::history_csv(&c.history);
    Ok(())
}

/// Runs `f` on `input` and fails the test, naming `what`, if it panics.
fn no_panic<T>(what: &str, f: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => v,
        Err(p) => {
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            panic!("{what}: panicked: {msg}")
        }
    }
}

fn seeds(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no seeds in {}", dir.display());
    files
}

#[test]
fn seed_corpora_replay_without_panics() {
    for f in seeds("expr") {
        let s = std::fs::read_to_string(&f).unwrap();
        no_panic(&f.display().to_string(), || expr(&s));
    }
    for f in seeds("case_check") {
        let b = std::fs::read(&f).unwrap();
        let _ = no_panic(&f.display().to_string(), || case_check(&b));
    }
    for (target, ext) in [
        ("read_legacy", "vtk"),
        ("read_vtu_inline", "vtu"),
        ("read_vtu_appended", "vtu"),
        ("read_csv", "csv"),
    ] {
        for f in seeds(target) {
            let b = std::fs::read(&f).unwrap();
            let n = no_panic(&f.display().to_string(), || read_mesh(ext, &b))
                .unwrap_or_else(|e| panic!("{}: the seed is a valid file: {e}", f.display()));
            assert!(n > 0);
        }
    }
    for f in seeds("checkpoint") {
        let b = std::fs::read(&f).unwrap();
        no_panic(&f.display().to_string(), || checkpoint(&b))
            .unwrap_or_else(|e| panic!("{}: the seed is a valid checkpoint: {e}", f.display()));
    }
    // Each parallel seed is valid as the kind its extension names (a .pvtu seed is not a
    // .pvtp file).
    for f in seeds("read_parallel") {
        let b = std::fs::read(&f).unwrap();
        let reads = no_panic(&f.display().to_string(), || read_parallel(&b));
        let own = usize::from(f.extension().is_some_and(|e| e == "pvtp"));
        let n = reads[own]
            .as_ref()
            .unwrap_or_else(|e| panic!("{}: the seed is a valid file: {e}", f.display()));
        assert!(*n > 0);
    }
    for f in seeds("case_data") {
        let b = std::fs::read(&f).unwrap();
        no_panic(&f.display().to_string(), || case_data(&b))
            .unwrap_or_else(|e| panic!("{}: the seed is a valid case: {e}", f.display()));
    }
}

/// A crash input under `tests/data/fuzz/`, read as the target read it.
fn crash_input(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/fuzz")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `read_mesh` on a crash input of a `read_*` target: a typed input error, no panic.
fn assert_mesh_rejected(ext: &str, name: &str) {
    let bytes = crash_input(name);
    match no_panic(name, || read_mesh(ext, &bytes)) {
        Err(nabla::Error::Input { message, .. }) => assert!(!message.is_empty()),
        Err(e) => panic!("{name}: expected an input error, got {e:?}"),
        Ok(n) => panic!("{name}: read as a mesh of {n} points"),
    }
}

// Found by fuzzing (read_vtu_inline and read_vtu_appended), ignored until the readers check
// every block header before vtkio sees the file (now: the total against the input limit,
// and each array against its compressor's largest ratio):
// vtkio allocates the uncompressed size that a compressed block's
// header declares (`vec![0u8; size]` in vtkio::xml::decompress, xml.rs:1901) before it
// decompresses anything. A 991-byte file that declares 0x0800_0030 bytes for an lz4
// block asks for 822 MB; the zlib ones declare up to 2^63 bytes, and the allocation
// failure aborts the process (not a panic: catch_unwind cannot stop it). Any file with a
// compressor attribute reaches it, appended raw or base64, and inline binary too.

#[test]
fn fuzz_vtu_lz4_block_size_bomb() {
    assert_mesh_rejected("vtu", "vtu_lz4_block_size_bomb.vtu");
    // Refused by the header check, before vtkio allocates the 822 MB (under the input
    // limit, so only the ratio check can catch it).
    let bytes = crash_input("vtu_lz4_block_size_bomb.vtu");
    let message = read_mesh("vtu", &bytes).unwrap_err().to_string();
    assert!(
        message.contains("more than the compressor can produce"),
        "{message}"
    );
}

#[test]
fn fuzz_vtu_zlib_header_huge_1() {
    assert_mesh_rejected("vtu", "vtu_zlib_header_huge_1.vtu");
}

#[test]
fn fuzz_vtu_zlib_header_huge_2() {
    assert_mesh_rejected("vtu", "vtu_zlib_header_huge_2.vtu");
}

/// The same bug, minimal and written by hand (872 bytes): a valid tetrahedron whose points
/// block, zlib-compressed with UInt64 headers, declares 2^62 uncompressed bytes.
#[test]
fn fuzz_vtu_zlib_declares_2e62() {
    assert_mesh_rejected("vtu", "vtu_zlib_declares_2e62.vtu");
}

/// The same bug through inline base64 zlib data (`read_vtu_inline`): 3.5 GB asked for by a
/// 38 KB file.
#[test]
fn fuzz_vtu_inline_zlib_size_bomb() {
    assert_mesh_rejected("vtu", "vtu_inline_zlib_size_bomb.vtu");
}
