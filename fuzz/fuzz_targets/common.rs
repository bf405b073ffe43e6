#![allow(dead_code)]

//! Shared by the targets: a scratch file per process, rewritten for every input.

use std::path::PathBuf;

/// A per-process scratch directory, created once and kept for the whole run.
pub fn scratch_dir() -> PathBuf {
    use std::sync::OnceLock;
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("nabla-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("scratch directory");
        d
    })
    .clone()
}

/// Writes `data` to `scratch/<name>` and returns its path.
pub fn scratch_file(name: &str, data: &[u8]) -> PathBuf {
    let path = scratch_dir().join(name);
    std::fs::write(&path, data).expect("scratch file");
    path
}

/// `read_mesh` catches the panics of vtkio on purpose (one more way for a file to be bad);
/// libFuzzer's panic hook would abort on those caught panics too. This hook only prints:
/// a panic that escapes the target still aborts (libfuzzer-sys aborts on it) and is a crash.
pub fn print_only_panic_hook() {
    use std::sync::Once;
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| eprintln!("panic: {info}")));
    });
}

/// The mesh targets: `data` as the file `name` (its extension picks the reader), read with
/// `nabla::io::read_mesh`, then the mesh's derived quantities.
pub fn read_mesh_target(name: &str, data: &[u8]) {
    print_only_panic_hook();
    let path = scratch_file(name, data);
    match nabla::io::read_mesh(&path) {
        Err(e) => {
            let _ = e.to_string();
        }
        Ok(mesh) => {
            let _ = (
                mesh.points.len(),
                mesh.num_cells(),
                mesh.bounds(),
                mesh.cell_centroids(),
            );
        }
    }
}
