//! Fields from data (`nabla::field::data`): polynomial reproduction, convergence on jittered
//! lattices and random clouds, degenerate 2-D data, errors, determinism across threads and
//! chunks, and a side by side with VTK's vtkGradientFilter (ParaView's Gradient filter).

use std::path::Path;

use nabla::Error;
use nabla::eval::{Array, EvalOptions, Operator, Points, evaluate};
use nabla::field::data::{DataField, Reconstruction, Weights};
use nabla::io::{Cells, Mesh, PointArray, read_mesh, write_vtu};

use crate::io::run_vtk_python;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

// ---------------------------------------------------------------------------------------
// Sample sets

/// A jittered lattice of the unit square (`dim` = 2, z = 0) or cube: `n + 1` points per
/// axis, h = 1/n, x fastest (VTK's order). Each coordinate whose lattice index is interior
/// moves by a uniform amount in [−`jitter`·h, `jitter`·h]; coordinates 0 and 1 stay exact,
/// so boundary points lie exactly on the faces.
fn jittered_lattice(dim: usize, n: usize, jitter: f64, seed: u64) -> Vec<[f64; 3]> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let h = 1.0 / n as f64;
    let nz = if dim == 3 { n + 1 } else { 1 };
    let mut pts = Vec::with_capacity((n + 1) * (n + 1) * nz);
    for k in 0..nz {
        for j in 0..=n {
            for i in 0..=n {
                let mut p = [0.0; 3];
                for (a, idx) in [i, j, k].into_iter().enumerate().take(dim) {
                    // idx / n (not idx · h) makes the last coordinate exactly 1.
                    p[a] = idx as f64 / n as f64;
                    if idx > 0 && idx < n {
                        p[a] += rng.random_range(-jitter..jitter) * h;
                    }
                }
                pts.push(p);
            }
        }
    }
    pts
}

/// `count` uniform random points in the unit cube.
fn random_cloud(count: usize, seed: u64) -> Vec<[f64; 3]> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..count)
        .map(|_| [0; 3].map(|_| rng.random_range(0.0..1.0)))
        .collect()
}

/// Whether `p` lies within `margin` of a face of the unit square/cube (its first `dim`
/// coordinates). With margin h/2 these are, on a lattice jittered by at most 0.2h, exactly
/// the points on the faces; on a random cloud, the outer layer of comparable thickness.
fn near_boundary(p: &[f64; 3], dim: usize, margin: f64) -> bool {
    p[..dim].iter().any(|&x| x <= margin || x >= 1.0 - margin)
}

fn points(dim: usize, rows: &[[f64; 3]]) -> Points {
    Points::from_rows(dim, rows).unwrap()
}

fn run(field: &DataField, at: &Points, ops: &[Operator]) -> Vec<Array> {
    evaluate(field, at, ops, &EvalOptions::default()).unwrap()
}

// ---------------------------------------------------------------------------------------
// 1. Polynomials of degree ≤ p are reproduced to round-off

/// A polynomial `Σ c x^a y^b z^c` with its exact derivatives.
struct Poly {
    terms: Vec<([i32; 3], f64)>,
}

impl Poly {
    /// Random coefficients in [−1, 1] for every monomial of total degree ≤ `degree` in the
    /// first `dim` coordinates.
    fn random(dim: usize, degree: i32, seed: u64) -> Poly {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut terms = Vec::new();
        let zmax = if dim == 3 { degree } else { 0 };
        for a in 0..=degree {
            for b in 0..=degree - a {
                for c in 0..=zmax.min(degree - a - b) {
                    terms.push(([a, b, c], rng.random_range(-1.0..1.0)));
                }
            }
        }
        Poly { terms }
    }

    /// The derivative of orders `d` (per coordinate) at `x`.
    fn deriv(&self, x: &[f64; 3], d: [i32; 3]) -> f64 {
        self.terms
            .iter()
            .map(|(e, c)| {
                let mut t = *c;
                for a in 0..3 {
                    for k in 0..d[a] {
                        t *= (e[a] - k) as f64;
                    }
                    if e[a] >= d[a] {
                        t *= x[a].powi(e[a] - d[a]);
                    } else {
                        t = 0.0;
                    }
                }
                t
            })
            .sum()
    }

    fn value(&self, x: &[f64; 3]) -> f64 {
        self.deriv(x, [0; 3])
    }
}

/// `max |got − want| / scale` with `scale` the largest `|want|` (or `fallback` where the
/// exact quantity vanishes everywhere, as second derivatives of a linear polynomial).
fn relative_error(got: &[f64], want: &[f64], fallback: f64) -> f64 {
    assert_eq!(got.len(), want.len());
    let scale = want.iter().fold(0.0, |m: f64, w| m.max(w.abs()));
    let scale = if scale > 0.0 { scale } else { fallback };
    got.iter()
        .zip(want)
        .map(|(g, w)| (g - w).abs())
        .fold(0.0, f64::max)
        / scale
}

/// Samples a random polynomial of each degree p = 1..4 at `samples`, fits it with degree p,
/// and checks Grad, Hessian and Lap at every sample and at `extra` non-sample points.
fn check_reproduction(dim: usize, samples: &[[f64; 3]], extra: &[[f64; 3]], what: &str) {
    for p in 1..=4 {
        let poly = Poly::random(dim, p, 100 + p as u64);
        let values: Vec<f64> = samples.iter().map(|x| poly.value(x)).collect();
        let fscale = values.iter().fold(0.0, |m: f64, v| m.max(v.abs()));
        let opts = Reconstruction {
            degree: p as usize,
            ..Reconstruction::default()
        };
        let field = DataField::new(samples, dim, values, 1, &opts).unwrap();
        assert_eq!(field.axes().len(), dim, "{what}: no axis may be dropped");
        let at: Vec<[f64; 3]> = samples.iter().chain(extra).copied().collect();
        let out = run(
            &field,
            &points(dim, &at),
            &[Operator::Grad, Operator::Hessian, Operator::Lap],
        );
        let unit = |a: usize| {
            let mut d = [0; 3];
            d[a] = 1;
            d
        };
        let mut grad = Vec::new();
        let mut hess = Vec::new();
        let mut lap = Vec::new();
        for x in &at {
            let mut l = 0.0;
            for a in 0..dim {
                grad.push(poly.deriv(x, unit(a)));
                for b in 0..dim {
                    let mut d = unit(a);
                    d[b] += 1;
                    hess.push(poly.deriv(x, d));
                }
                let mut d = [0; 3];
                d[a] = 2;
                l += poly.deriv(x, d);
            }
            lap.push(l);
        }
        let errors = [
            relative_error(&out[0].values, &grad, fscale),
            relative_error(&out[1].values, &hess, fscale),
            relative_error(&out[2].values, &lap, fscale),
        ];
        let stats = field.stats();
        eprintln!(
            "reproduction {what}, p = {p}: relative errors grad {:.1e}, hessian {:.1e}, lap {:.1e}; {stats:?}",
            errors[0], errors[1], errors[2]
        );
        // Exact reproduction: only round-off remains. Each fit is accepted with an
        // equilibrated condition number ≤ 3e2 (grown stencils up to 1e8 would show here), so
        // coefficients carry ~1e-13 relative error and second derivatives divide them by h²
        // (h ≈ 0.1–0.2: another factor ≤ 100): ~1e-11 at worst, within 1e-10. Measured:
        // ≤ 2e-13 for gradients, ≤ 6e-12 for Hessians; the Laplacian of a quadratic is a
        // constant whose three terms partly cancel, so relative to itself it reaches 3e-11.
        for (name, e) in ["grad", "hessian", "lap"].iter().zip(errors) {
            assert!(
                e <= 1e-10,
                "{what}, degree {p}: {name} relative error {e:.2e} > 1e-10 ({stats:?})"
            );
        }
        assert_eq!(
            stats.lowered, 0,
            "{what}, degree {p}: no degree may be lowered"
        );
    }
}

#[test]
fn polynomials_up_to_the_degree_are_reproduced_in_3d_random_clouds() {
    let samples = random_cloud(3000, 1);
    let extra = random_cloud(20, 2)
        .into_iter()
        .map(|p| p.map(|x| 0.1 + 0.8 * x))
        .collect::<Vec<_>>();
    check_reproduction(3, &samples, &extra, "3-D random cloud");
}

#[test]
fn polynomials_up_to_the_degree_are_reproduced_on_2d_jittered_lattices() {
    let samples = jittered_lattice(2, 50, 0.3, 3);
    let extra = random_cloud(20, 4)
        .into_iter()
        .map(|p| [0.1 + 0.8 * p[0], 0.1 + 0.8 * p[1], 0.0])
        .collect::<Vec<_>>();
    check_reproduction(2, &samples, &extra, "2-D jittered lattice");
}

// ---------------------------------------------------------------------------------------
// 2. Convergence on a smooth field: f = sin(2x) cos(3y) eᶻ, ∇²f = −12 f

fn smooth(x: &[f64; 3]) -> f64 {
    (2.0 * x[0]).sin() * (3.0 * x[1]).cos() * x[2].exp()
}

fn smooth_grad(x: &[f64; 3]) -> [f64; 3] {
    let (s2, c2) = (2.0 * x[0]).sin_cos();
    let (s3, c3) = (3.0 * x[1]).sin_cos();
    let ez = x[2].exp();
    [2.0 * c2 * c3 * ez, -3.0 * s2 * s3 * ez, s2 * c3 * ez]
}

/// Errors of ∇f (largest component per point) and ∇²f at the samples of one level.
#[derive(Clone, Copy, Debug, Default)]
struct Errors {
    /// `[interior, boundary]` maxima and root mean squares.
    grad_max: [f64; 2],
    grad_rms: [f64; 2],
    lap_max: [f64; 2],
    lap_rms: [f64; 2],
}

/// Fits f with `degree` at `samples` (nominal spacing `h`) and measures the errors at the
/// samples, split into interior and boundary (within h/2 of a face).
fn smooth_errors(samples: &[[f64; 3]], degree: usize, h: f64) -> Errors {
    let values: Vec<f64> = samples.iter().map(smooth).collect();
    let opts = Reconstruction {
        degree,
        ..Reconstruction::default()
    };
    let field = DataField::new(samples, 3, values, 1, &opts).unwrap();
    let out = run(
        &field,
        &points(3, samples),
        &[Operator::Grad, Operator::Lap],
    );
    let mut e = Errors::default();
    let mut count = [0usize; 2];
    for (i, x) in samples.iter().enumerate() {
        let b = usize::from(near_boundary(x, 3, 0.5 * h));
        let g = smooth_grad(x);
        let eg = (0..3)
            .map(|a| (out[0].values[3 * i + a] - g[a]).abs())
            .fold(0.0, f64::max);
        let el = (out[1].values[i] + 12.0 * smooth(x)).abs();
        e.grad_max[b] = e.grad_max[b].max(eg);
        e.lap_max[b] = e.lap_max[b].max(el);
        e.grad_rms[b] += eg * eg;
        e.lap_rms[b] += el * el;
        count[b] += 1;
    }
    for b in 0..2 {
        e.grad_rms[b] = (e.grad_rms[b] / count[b] as f64).sqrt();
        e.lap_rms[b] = (e.lap_rms[b] / count[b] as f64).sqrt();
    }
    e
}

#[test]
fn smooth_field_converges_at_the_order_of_the_degree() {
    const LEVELS: [usize; 4] = [6, 8, 12, 16];
    // Observed order between the two finest levels: slope of log error against log h.
    let order = |coarse: f64, fine: f64| (coarse / fine).ln() / (16.0f64 / 12.0).ln();
    let mut failures = Vec::new();
    eprintln!(
        "convergence of f = sin(2x)cos(3y)e^z (∇²f = −12f) on the unit cube, samples \
         (n+1)³, h = 1/n; errors at the samples; int = interior, bnd = within h/2 of a face; \
         order: slope of log error vs log h between n = 12 and 16 (max / rms)"
    );
    eprintln!(
        "| samples | p | max ∇ error int, n = 6, 8, 12, 16 | ∇ order int | ∇ order bnd | max ∇² error int, n = 16 | ∇² order int | ∇² order bnd |"
    );
    eprintln!("|---|---|---|---|---|---|---|---|");
    for geometry in ["jittered lattice", "random cloud"] {
        for p in 1..=4 {
            let errors: Vec<Errors> = LEVELS
                .iter()
                .map(|&n| {
                    let samples = match geometry {
                        "jittered lattice" => jittered_lattice(3, n, 0.2, n as u64),
                        _ => random_cloud((n + 1).pow(3), 1000 + n as u64),
                    };
                    smooth_errors(&samples, p, 1.0 / n as f64)
                })
                .collect();
            let (c, f) = (&errors[2], &errors[3]);
            let orders = |cm: [f64; 2], fm: [f64; 2], cr: [f64; 2], fr: [f64; 2], b: usize| {
                (order(cm[b], fm[b]), order(cr[b], fr[b]))
            };
            let grad = [0, 1].map(|b| orders(c.grad_max, f.grad_max, c.grad_rms, f.grad_rms, b));
            let lap = [0, 1].map(|b| orders(c.lap_max, f.lap_max, c.lap_rms, f.lap_rms, b));
            let levels: Vec<String> = errors
                .iter()
                .map(|e| format!("{:.1e}", e.grad_max[0]))
                .collect();
            eprintln!(
                "| {geometry} | {p} | {} | {:.2} / {:.2} | {:.2} / {:.2} | {:.1e} | {:.2} / {:.2} | {:.2} / {:.2} |",
                levels.join(", "),
                grad[0].0,
                grad[0].1,
                grad[1].0,
                grad[1].1,
                f.lap_max[0],
                lap[0].0,
                lap[0].1,
                lap[1].0,
                lap[1].1
            );
            // The fit's truncation error is O(h^(p+1)) in the values, so O(h^p) in the
            // gradient and O(h^(p−1)) in the Laplacian; we ask for half an order less.
            //
            // On the RMS error: the max error at n ≤ 16 is that of a single worst stencil (a
            // lopsided one in the first layer inside a face, one grown because its
            // geometry was poorly conditioned), which changes from level to level; its
            // slope between n = 12 and 16 falls to 1.5–1.6 for p = 2 on the random cloud
            // and p = 3 on the lattice (measured: 1.48 and 1.59; between n = 16 and 24 the
            // same maxima give 1.65 and 2.83: on a random cloud the worst of more stencils
            // is worse), while the RMS slopes sit at the expected orders (1.97 and 2.98).
            // So the RMS error carries the p − 0.5 bound and the max error a bound one
            // order below it, which still fails if an order is lost.
            if p == 2 || p == 3 {
                let pf = p as f64;
                for (what, (max, rms), want) in [
                    ("gradient", grad[0], pf - 0.5),
                    ("Laplacian", lap[0], pf - 1.5),
                ] {
                    if !(rms >= want && max >= want - 1.0) {
                        failures.push(format!(
                            "{geometry}, p = {p}: interior {what} order {max:.2} (max error) / \
                             {rms:.2} (rms); want ≥ {} / {want}; errors at n = {LEVELS:?}: {:?}",
                            want - 1.0,
                            errors
                        ));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------------------
// 3. Degenerate 2-D data: a one-cell-thick mesh

#[test]
fn samples_on_two_planes_are_fitted_in_the_plane_with_zero_z_derivatives() {
    // f = x² + 3xy − y + y²/2, independent of z, on the two planes z = 0 and z = 0.01 of a
    // one-cell-thick mesh (the same jittered lattice on both, as OpenFOAM's 2-D cases).
    let f = |x: &[f64; 3]| x[0] * x[0] + 3.0 * x[0] * x[1] - x[1] + 0.5 * x[1] * x[1];
    let plane = jittered_lattice(2, 20, 0.2, 7);
    let samples: Vec<[f64; 3]> = plane
        .iter()
        .map(|p| [p[0], p[1], 0.0])
        .chain(plane.iter().map(|p| [p[0], p[1], 0.01]))
        .collect();
    let values: Vec<f64> = samples.iter().map(f).collect();
    let field = DataField::new(&samples, 3, values.clone(), 1, &Reconstruction::default()).unwrap();
    let (axis, why) = field.dropped_axis().expect("z is dropped");
    assert_eq!(axis, 2, "{why}");
    assert!(why.contains("two planes"), "{why}");
    assert_eq!(field.axes(), &[0, 1]);
    assert_eq!(field.num_samples(), plane.len());
    assert_eq!(field.merged(), plane.len());

    let mut at = samples.clone();
    at.extend(random_cloud(10, 8).iter().map(|p| [p[0], p[1], 0.005]));
    let out = run(
        &field,
        &points(3, &at),
        &[Operator::Grad, Operator::Hessian, Operator::Lap],
    );
    for (i, x) in at.iter().enumerate() {
        let g = &out[0].values[3 * i..3 * i + 3];
        let hs = &out[1].values[9 * i..9 * i + 9];
        // Nothing depends on z: exactly 0, not round-off.
        assert_eq!(g[2], 0.0, "∂f/∂z at {x:?}");
        for k in 0..3 {
            assert_eq!(hs[3 * k + 2], 0.0, "Hessian column z at {x:?}");
            assert_eq!(hs[6 + k], 0.0, "Hessian row z at {x:?}");
        }
        // A quadratic is reproduced: round-off only (values O(1), h ≈ 0.1).
        let want = [2.0 * x[0] + 3.0 * x[1], 3.0 * x[0] - 1.0 + x[1]];
        for a in 0..2 {
            assert!((g[a] - want[a]).abs() < 1e-10, "grad {g:?} at {x:?}");
        }
        let hw = [2.0, 3.0, 3.0, 1.0];
        for (k, (a, b)) in [(0, 0), (0, 1), (1, 0), (1, 1)].into_iter().enumerate() {
            assert!(
                (hs[3 * a + b] - hw[k]).abs() < 1e-9,
                "hessian {hs:?} at {x:?}"
            );
        }
        assert!((out[2].values[i] - 3.0).abs() < 1e-9, "lap at {x:?}");
    }

    // Asked for 3 coordinates, the thin axis is kept.
    let opts = Reconstruction {
        dim: Some(3),
        ..Reconstruction::default()
    };
    let field = DataField::new(&samples, 3, values, 1, &opts).unwrap();
    assert_eq!(field.dropped_axis(), None);
    assert_eq!(field.axes(), &[0, 1, 2]);
}

// ---------------------------------------------------------------------------------------
// 4. Errors: typed, with the numbers a user needs; never a panic or a NaN

fn data_error(r: nabla::Result<DataField>) -> String {
    match r {
        Err(Error::Data(m)) => m,
        Err(e) => panic!("expected Error::Data, got {e:?}"),
        Ok(_) => panic!("expected Error::Data, got a field"),
    }
}

fn config_error(r: nabla::Result<DataField>, setting: &str) -> String {
    match r {
        Err(Error::Config {
            setting: s,
            message,
        }) => {
            assert_eq!(s, setting, "{message}");
            message
        }
        Err(e) => panic!("expected Error::Config for {setting}, got {e:?}"),
        Ok(_) => panic!("expected Error::Config for {setting}, got a field"),
    }
}

#[test]
fn bad_data_and_settings_are_typed_errors() {
    let pts = random_cloud(200, 9);
    let vals: Vec<f64> = pts.iter().map(smooth).collect();
    let def = Reconstruction::default();
    let with_degree = |degree| Reconstruction {
        degree,
        ..Reconstruction::default()
    };

    // NaN values: counted, the first located.
    let mut bad = vals.clone();
    bad[17] = f64::NAN;
    bad[40] = f64::INFINITY;
    let m = data_error(DataField::new(&pts, 3, bad, 1, &def));
    assert!(m.contains("2 non-finite") && m.contains("sample 17"), "{m}");
    // Of a vector field: component and sample.
    let mut bad = vec![0.5; 3 * pts.len()];
    bad[3 * 5 + 2] = f64::NAN;
    let m = data_error(DataField::new(&pts, 3, bad, 3, &def));
    assert!(
        m.contains("1 non-finite") && m.contains("component 2 of sample 5"),
        "{m}"
    );

    // Too few samples for the degree: says how many are needed.
    let m = data_error(DataField::new(&pts[..9], 3, &vals[..9], 1, &def));
    assert!(
        m.contains("9 distinct samples") && m.contains("at least 10"),
        "{m}"
    );
    let m = data_error(DataField::new(
        &pts[..30],
        3,
        &vals[..30],
        1,
        &with_degree(4),
    ));
    assert!(m.contains("at least 35"), "{m}");

    // Degrees outside 1–4.
    for degree in [0, 5] {
        let m = config_error(
            DataField::new(&pts, 3, vals.clone(), 1, &with_degree(degree)),
            "degree",
        );
        assert!(m.contains(&degree.to_string()), "{m}");
    }

    // Fewer neighbours than monomials (10 for degree 2 in 3-D).
    let opts = Reconstruction {
        neighbours: Some(9),
        ..Reconstruction::default()
    };
    let m = config_error(
        DataField::new(&pts, 3, vals.clone(), 1, &opts),
        "neighbours",
    );
    assert!(m.contains("at least 10"), "{m}");
    let opts = Reconstruction {
        neighbours: Some(10),
        ..Reconstruction::default()
    };
    assert_eq!(
        DataField::new(&pts, 3, vals.clone(), 1, &opts)
            .unwrap()
            .neighbours(),
        10
    );

    // Coincident samples with different values (equal values merge).
    let mut dup = pts.clone();
    dup.push(pts[3]);
    let mut dv = vals.clone();
    dv.push(vals[3] + 1.0);
    let m = data_error(DataField::new(&dup, 3, dv.clone(), 1, &def));
    assert!(m.contains("coincide"), "{m}");
    *dv.last_mut().unwrap() = vals[3];
    let field = DataField::new(&dup, 3, dv, 1, &def).unwrap();
    assert_eq!((field.merged(), field.num_samples()), (1, pts.len()));

    // Values that do not fit the points.
    let m = data_error(DataField::new(&pts, 3, &vals[..199], 1, &def));
    assert!(
        m.contains("199 values") && m.contains("expected 200"),
        "{m}"
    );
    let m = data_error(DataField::new(&pts, 3, vals.clone(), 3, &def));
    assert!(m.contains("expected 600"), "{m}");
}

#[test]
fn collinear_samples_lower_the_degree_without_nan() {
    // Every sample on the line y = x/2 + 0.1 of 2-D data fitted in 2 coordinates: no
    // stencil supports a plane, let alone a quadratic, wherever the point is.
    let samples: Vec<[f64; 3]> = (0..60)
        .map(|i| {
            let t = i as f64 / 59.0;
            [t, 0.5 * t + 0.1, 0.0]
        })
        .collect();
    let values: Vec<f64> = samples.iter().map(|p| p[0] * p[0]).collect();
    let opts = Reconstruction {
        dim: Some(2),
        ..Reconstruction::default()
    };
    let field = DataField::new(&samples, 2, values, 1, &opts).unwrap();
    let mut at = samples.clone();
    // Off the line but within the reach of its stencils (about 0.11; see
    // `nabla::field::data::locate`): fitted at a lower degree, finite.
    at.extend([[0.5, 0.36, 0.0], [0.2, 0.21, 0.0], [1.02, 0.58, 0.0]]);
    assert!(field.valid(&at).iter().all(|&v| v));
    // Far off the line: outside the data, NaN rather than an extrapolation.
    assert_eq!(
        field.valid(&[[0.5, 0.5, 0.0], [0.2, 0.9, 0.0], [1.5, -0.3, 0.0]]),
        [false; 3]
    );
    let out = run(
        &field,
        &points(2, &at),
        &[
            Operator::Value,
            Operator::Grad,
            Operator::Hessian,
            Operator::Lap,
        ],
    );
    for a in &out {
        assert!(
            a.values.iter().all(|v| v.is_finite()),
            "{}: {:?}",
            a.name,
            a.values
        );
    }
    let stats = field.stats();
    assert!(stats.lowered > 0, "{stats:?}");
    assert!(stats.lowered <= stats.points, "{stats:?}");
}

// ---------------------------------------------------------------------------------------
// 5. Threads and chunks do not change a bit

#[test]
fn results_are_bit_identical_for_thread_counts_and_chunk_sizes() {
    let samples = random_cloud(3000, 11);
    let values: Vec<f64> = samples
        .iter()
        .flat_map(|x| {
            let g = smooth_grad(x);
            [g[0], g[1] + x[2], smooth(x)]
        })
        .collect();
    let field = DataField::new(&samples, 3, values, 3, &Reconstruction::default()).unwrap();
    // Evaluation points inside, outside (extrapolated) and at the samples.
    let mut at = random_cloud(1500, 12)
        .into_iter()
        .map(|p| p.map(|x| 1.2 * x - 0.1))
        .collect::<Vec<_>>();
    at.extend_from_slice(&samples[..500]);
    let at = points(3, &at);
    let ops = [Operator::Jacobian, Operator::Lap, Operator::Q];
    let go = |threads: usize, chunk: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let opts = EvalOptions {
            chunk_size: chunk,
            ..Default::default()
        };
        field.reset_stats();
        let bits: Vec<u64> = pool.install(|| {
            evaluate(&field, &at, &ops, &opts)
                .unwrap()
                .iter()
                .flat_map(|a| a.values.iter().map(|v| v.to_bits()).collect::<Vec<_>>())
                .collect()
        });
        (bits, field.stats())
    };
    let reference = go(1, 4096);
    assert!(reference.1.extrapolated > 0, "{:?}", reference.1);
    for (threads, chunk) in [(1, 7), (2, 7), (2, 4096)] {
        let got = go(threads, chunk);
        assert!(
            got.0 == reference.0,
            "{threads} threads, chunks of {chunk}: results differ"
        );
        assert_eq!(
            got.1, reference.1,
            "{threads} threads, chunks of {chunk}: stats"
        );
    }
}

// ---------------------------------------------------------------------------------------
// 6. Side by side with VTK's vtkGradientFilter (ParaView's Gradient filter)

/// A jittered hexahedral mesh of the unit cube, n cells per axis, in VTK's point order.
fn hex_mesh(n: usize, seed: u64) -> Mesh {
    Mesh {
        points: jittered_lattice(3, n, 0.2, seed),
        cells: Some(hex_cells(n)),
        ..Mesh::default()
    }
}

/// The n³ hexahedra (VTK type 12) of a lattice of (n + 1)³ points, x varying fastest.
pub(crate) fn hex_cells(n: usize) -> Cells {
    let id = |i: usize, j: usize, k: usize| (i + (n + 1) * (j + (n + 1) * k)) as u64;
    let mut connectivity = Vec::with_capacity(8 * n * n * n);
    let mut offsets = Vec::with_capacity(n * n * n);
    for k in 0..n {
        for j in 0..n {
            for i in 0..n {
                connectivity.extend([
                    id(i, j, k),
                    id(i + 1, j, k),
                    id(i + 1, j + 1, k),
                    id(i, j + 1, k),
                    id(i, j, k + 1),
                    id(i + 1, j, k + 1),
                    id(i + 1, j + 1, k + 1),
                    id(i, j + 1, k + 1),
                ]);
                offsets.push(connectivity.len() as u64);
            }
        }
    }
    Cells {
        connectivity,
        offsets,
        types: vec![12; n * n * n],
        ..Default::default()
    }
}

/// Runs `tests/vtk_gradient.py` on the point array `name` of `vtu` (skipped as the VTK
/// reader check is: see `io::run_vtk_python`).
fn vtk_gradient(vtu: &Path, name: &str, out: &Path) -> Option<Vec<f64>> {
    let args = [vtu.as_os_str(), name.as_ref(), out.as_os_str()];
    run_vtk_python(
        "vtk_gradient.py",
        &args,
        "the comparison with VTK's gradient filter",
    )?;
    let bytes = std::fs::read(out).unwrap();
    Some(
        bytes
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
            .collect(),
    )
}

#[test]
fn gradients_beat_vtks_gradient_filter_on_jittered_hexahedra() {
    let dir = tempfile::tempdir().unwrap();
    let mut rows = Vec::new();
    for n in [8, 16, 32] {
        let mesh = hex_mesh(n, 50 + n as u64);
        let f: Vec<f64> = mesh.points.iter().map(smooth).collect();
        let vtu = dir.path().join(format!("cube_{n}.vtu"));
        write_vtu(&vtu, &mesh, &[PointArray::new("f", 1, f)]).unwrap();
        let Some(vtk) = vtk_gradient(&vtu, "f", &dir.path().join(format!("grad_{n}.f64"))) else {
            return;
        };
        // Our side starts from the file too, as a user's would.
        let read = read_mesh(&vtu).unwrap();
        assert_eq!(read.points, mesh.points);
        let values = read.point_array("f").expect("f").values.clone();
        assert_eq!(vtk.len(), 3 * read.points.len());
        let at = points(3, &read.points);
        let ours = |degree: usize, cells: bool| {
            let opts = Reconstruction {
                degree,
                ..Reconstruction::default()
            };
            let mut field = DataField::new(&read.points, 3, values.clone(), 1, &opts).unwrap();
            if cells {
                field = field.with_cells(read.cells.as_ref().unwrap()).unwrap();
            }
            run(&field, &at, &[Operator::Grad]).remove(0).values
        };
        let candidates = [vtk, ours(2, false), ours(3, false), ours(2, true)];
        let h = 1.0 / n as f64;
        let mut err = [0.0f64; 4];
        for (i, x) in read.points.iter().enumerate() {
            if near_boundary(x, 3, 0.5 * h) {
                continue;
            }
            let g = smooth_grad(x);
            for (e, c) in err.iter_mut().zip(&candidates) {
                for a in 0..3 {
                    *e = e.max((c[3 * i + a] - g[a]).abs());
                }
            }
        }
        rows.push((n, err));
    }
    eprintln!(
        "max |∇f error| (largest component) at interior points of a jittered (0.2h) hexahedral \
         mesh, f = sin(2x)cos(3y)e^z"
    );
    eprintln!("| h | VTK vtkGradientFilter | nabla p=2 | nabla p=3 | nabla p=2, mesh rings |");
    eprintln!("|---|---|---|---|---|");
    for (n, e) in &rows {
        eprintln!(
            "| 1/{n} | {:.2e} | {:.2e} ({:.0}×) | {:.2e} ({:.0}×) | {:.2e} ({:.0}×) |",
            e[0],
            e[1],
            e[0] / e[1],
            e[2],
            e[0] / e[2],
            e[3],
            e[0] / e[3]
        );
    }
    let (_, e) = rows.last().unwrap();
    // At h = 1/32: VTK's cell-averaged gradient is first-order on a jittered mesh, ours
    // second (p = 2) and third (p = 3) order. The goals: 5× and 100× (measured
    // 12× and 278×).
    assert!(
        e[0] / e[1] >= 5.0,
        "p = 2 only {:.1}× more accurate than VTK ({:.2e} vs {:.2e})",
        e[0] / e[1],
        e[1],
        e[0]
    );
    assert!(
        e[0] / e[2] >= 100.0,
        "p = 3 only {:.1}× more accurate than VTK ({:.2e} vs {:.2e})",
        e[0] / e[2],
        e[2],
        e[0]
    );
}

#[test]
fn uniform_weights_reproduce_polynomials_too() {
    // The plain least-squares weighting is a separate code path in the fit.
    let samples = jittered_lattice(3, 10, 0.2, 13);
    let poly = Poly::random(3, 2, 14);
    let values: Vec<f64> = samples.iter().map(|x| poly.value(x)).collect();
    let opts = Reconstruction {
        weights: Weights::Uniform,
        ..Reconstruction::default()
    };
    let field = DataField::new(&samples, 3, values, 1, &opts).unwrap();
    let out = run(&field, &points(3, &samples), &[Operator::Grad]);
    let want: Vec<f64> = samples
        .iter()
        .flat_map(|x| [[1, 0, 0], [0, 1, 0], [0, 0, 1]].map(|d| poly.deriv(x, d)))
        .collect();
    // Round-off only, as in the reproduction tests above.
    let e = relative_error(&out[0].values, &want, 1.0);
    assert!(e <= 1e-10, "relative error {e:.2e}");
}

/// OpenFOAM's airFoil2D (a C-mesh with cells up to 100 times longer than thick): with mesh
/// rings the reconstruction follows the anisotropic cells, needs no grown stencil and stays
/// close to OpenFOAM's own finite-volume `grad(U)`; with nearest samples alone the stencils
/// next to the wall lie along single mesh lines, which the condition check must catch (no
/// blow-up: before it, single points reached 10⁷ where OpenFOAM has 10²).
#[test]
fn anisotropic_c_mesh_of_a_solved_aerofoil() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/openfoam/airFoil2D_simpleFoam.vtu");
    if !path.is_file() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{} is missing",
            path.display()
        );
        eprintln!("skipped: {} is missing", path.display());
        return;
    }
    let mesh = read_mesh(&path).unwrap();
    let u = mesh.point_array("U").unwrap();
    let reference = &mesh.point_array("grad(U)").unwrap().values;
    let at = points(3, &mesh.points);
    let rel_l2 = |got: &[f64]| {
        let num: f64 = got
            .iter()
            .zip(reference)
            .map(|(a, b)| (a - b) * (a - b))
            .sum();
        let den: f64 = reference.iter().map(|b| b * b).sum();
        (num / den).sqrt()
    };
    let opts = Reconstruction::default();
    let rings = DataField::new(&mesh.points, 3, u.values.clone(), 3, &opts)
        .unwrap()
        .with_cells(mesh.cells.as_ref().unwrap())
        .unwrap();
    let knn = DataField::new(&mesh.points, 3, u.values.clone(), 3, &opts).unwrap();
    assert_eq!(rings.dropped_axis().map(|d| d.0), Some(2));
    let g_rings = run(&rings, &at, &[Operator::Grad]).remove(0).values;
    let g_knn = run(&knn, &at, &[Operator::Grad]).remove(0).values;
    let (e_rings, e_knn) = (rel_l2(&g_rings), rel_l2(&g_knn));
    eprintln!(
        "airFoil2D grad(U) relative L2 from OpenFOAM's: mesh rings {e_rings:.3} ({:?}), \
         nearest samples {e_knn:.3} ({:?})",
        rings.stats(),
        knn.stats()
    );
    // Measured 0.44 (rings) and 1.0 (nearest samples): two discretisations of a boundary
    // layer whose gradients reach 10⁴ s⁻¹; the bounds leave room for neither to blow up.
    assert!(e_rings < 0.6, "mesh rings: {e_rings}");
    assert!(e_knn < 2.0, "nearest samples: {e_knn}");
    assert_eq!(rings.stats().grown, 0);
    assert!(
        knn.stats().grown > 0,
        "the wall stencils should have been grown"
    );
    let big = reference.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    for g in [&g_rings, &g_knn] {
        assert!(g.iter().all(|v| v.is_finite() && v.abs() <= 10.0 * big));
    }
}

// ---------------------------------------------------------------------------------------
// 8. Degenerate and ill-scaled geometry (#21): every coincident sample compared, lines and
// oblique planes fitted in their own coordinates, coordinates scaled by the data's extent,
// no axis dropped across which the values vary

/// A 3-D quadratic g with its gradient and Hessian: the field sampled on a line or plane.
fn quad3(x: &[f64; 3]) -> f64 {
    0.5 + x[0] - 2.0 * x[1] + 0.7 * x[2] + x[0] * x[0] - 0.5 * x[0] * x[1] + 1.5 * x[1] * x[2]
        - x[2] * x[2]
}

fn quad3_grad(x: &[f64; 3]) -> [f64; 3] {
    [
        1.0 + 2.0 * x[0] - 0.5 * x[1],
        -2.0 - 0.5 * x[0] + 1.5 * x[2],
        0.7 + 1.5 * x[1] - 2.0 * x[2],
    ]
}

const QUAD3_HESS: [[f64; 3]; 3] = [[2.0, -0.5, 0.0], [-0.5, 0.0, 1.5], [0.0, 1.5, -2.0]];

/// `P v` for the projector `P = Σ dᵢ dᵢᵀ` onto the span of the orthonormal `dirs`.
fn project(dirs: &[[f64; 3]], v: &[f64; 3]) -> [f64; 3] {
    let mut out = [0.0; 3];
    for d in dirs {
        let t: f64 = (0..3).map(|a| d[a] * v[a]).sum();
        (0..3).for_each(|a| out[a] += t * d[a]);
    }
    out
}

/// Samples `quad3` on the points `samples` (a line or plane spanned by the orthonormal
/// `dirs`) and checks that the reconstruction is the restriction of `quad3` extended
/// constantly across: value, gradient `P∇g`, Hessian `P H P` and Laplacian `tr(P H P)`,
/// to round-off, at every sample, with no lowered degree.
fn check_restriction(samples: &[[f64; 3]], dirs: &[[f64; 3]], what: &str) -> DataField {
    let values: Vec<f64> = samples.iter().map(quad3).collect();
    let field = DataField::new(samples, 3, values.clone(), 1, &Reconstruction::default())
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let why = field.reduction().unwrap_or("none");
    let out = run(
        &field,
        &points(3, samples),
        &[
            Operator::Value,
            Operator::Grad,
            Operator::Hessian,
            Operator::Lap,
        ],
    );
    // P H P, column by column: P (H (P e_b)).
    let mut php = [[0.0; 3]; 3];
    for b in 0..3 {
        let mut e = [0.0; 3];
        e[b] = 1.0;
        let pe = project(dirs, &e);
        let hpe: [f64; 3] = std::array::from_fn(|a| (0..3).map(|c| QUAD3_HESS[a][c] * pe[c]).sum());
        let col = project(dirs, &hpe);
        (0..3).for_each(|a| php[a][b] = col[a]);
    }
    let lap = php[0][0] + php[1][1] + php[2][2];
    for (i, x) in samples.iter().enumerate() {
        assert!(
            (out[0].values[i] - values[i]).abs() < 1e-12,
            "{what}: value {} at sample {i} {x:?}, the sample's is {} ({why})",
            out[0].values[i],
            values[i]
        );
        let g = project(dirs, &quad3_grad(x));
        for a in 0..3 {
            assert!(
                (out[1].values[3 * i + a] - g[a]).abs() < 1e-9,
                "{what}: gradient {:?} at {x:?}, want {g:?} ({why})",
                &out[1].values[3 * i..3 * i + 3]
            );
            for b in 0..3 {
                assert!(
                    (out[2].values[9 * i + 3 * a + b] - php[a][b]).abs() < 1e-7,
                    "{what}: Hessian {:?} at {x:?}, want {php:?} ({why})",
                    &out[2].values[9 * i..9 * i + 9]
                );
            }
        }
        assert!(
            (out[3].values[i] - lap).abs() < 1e-7,
            "{what}: Laplacian at {x:?}"
        );
    }
    assert_eq!(field.stats().lowered, 0, "{what}: {:?}", field.stats());
    assert_eq!(field.directions().len(), dirs.len(), "{what}: {why}");
    field
}

fn normalise(v: [f64; 3]) -> [f64; 3] {
    let n = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
    v.map(|x| x / n)
}

#[test]
fn every_member_of_a_coincident_group_is_compared() {
    // Three samples at one position: the first two agree, the third differs. Before, only
    // the first two of a group were compared and the three were averaged.
    let pts = random_cloud(200, 21);
    let vals: Vec<f64> = pts.iter().map(smooth).collect();
    let mut dup = pts.clone();
    dup.extend([pts[3], pts[3]]);
    let mut dv = vals.clone();
    dv.extend([vals[3], vals[3] + 1.0]);
    let m = data_error(DataField::new(&dup, 3, dv, 1, &Reconstruction::default()));
    assert!(m.contains("coincide") && m.contains("201"), "{m}");
    // Three equal ones merge, and the value at the sample is the sample's.
    let mut dv = vals.clone();
    dv.extend([vals[3], vals[3]]);
    let field = DataField::new(&dup, 3, dv, 1, &Reconstruction::default()).unwrap();
    assert_eq!((field.merged(), field.num_samples()), (2, pts.len()));
}

#[test]
fn samples_on_an_oblique_line_are_fitted_along_it() {
    // Before, every stencil was lowered to degree 0: every derivative exactly 0, and the
    // value at a sample a weighted mean of its neighbours.
    let d = normalise([1.0, 2.0, -2.0]);
    let line: Vec<[f64; 3]> = (0..41)
        .map(|i| {
            let t = i as f64 / 40.0 + 0.003 * ((i * 7) % 5) as f64;
            [0.2 + t * d[0], -0.1 + t * d[1], 0.3 + t * d[2]]
        })
        .collect();
    let field = check_restriction(&line, &[d], "oblique line");
    let why = field.reduction().unwrap();
    assert!(
        why.starts_with("1-D data") && why.contains("across it are 0"),
        "{why}"
    );
    assert_eq!(field.dropped_axis(), None);
    // Along a coordinate axis, the same; the fit reads y alone.
    let line: Vec<[f64; 3]> = line.iter().map(|p| [0.5, p[0], -1.0]).collect();
    let field = check_restriction(&line, &[[0.0, 1.0, 0.0]], "line along y");
    assert_eq!(field.axes(), &[1]);
    let why = field.reduction().unwrap();
    assert!(why.contains("derivatives along x and z are 0"), "{why}");
}

#[test]
fn samples_on_an_oblique_plane_are_fitted_in_its_own_coordinates() {
    // A jittered lattice on the plane through (0.1, 0.2, 0.3) spanned by two oblique
    // orthonormal directions.
    let u = normalise([1.0, 1.0, 1.0]);
    let v = normalise([1.0, -1.0, 0.0]);
    let plane: Vec<[f64; 3]> = jittered_lattice(2, 20, 0.2, 22)
        .iter()
        .map(|p| std::array::from_fn(|a| [0.1, 0.2, 0.3][a] + p[0] * u[a] + p[1] * v[a]))
        .collect();
    let field = check_restriction(&plane, &[u, v], "oblique plane");
    let why = field.reduction().unwrap();
    assert!(
        why.starts_with("2-D data") && why.contains("plane's own coordinates"),
        "{why}"
    );
    assert_eq!(field.axes(), &[0, 1, 2]);
    // The fitted directions span the plane.
    for d in field.directions() {
        let n = cross3(&u, &v);
        assert!(
            (d[0] * n[0] + d[1] * n[1] + d[2] * n[2]).abs() < 1e-12,
            "{d:?}"
        );
    }
}

fn cross3(a: &[f64; 3], b: &[f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

#[test]
fn coordinates_far_apart_or_tiny_are_scaled_by_the_datas_extent() {
    // f = 1 + 2x' − y' + 3z' + x'² in the unit coordinates x' = x/S of a cloud scaled by S:
    // ∇f = (2 + 2x', −1, 3)/S. Before, S = 1e154 and beyond overflowed the stencil radius
    // (every gradient 0) and S = 1e-300 underflowed it (0 where the answer is 1e300).
    let unit = random_cloud(400, 23);
    let f = |p: &[f64; 3]| 1.0 + 2.0 * p[0] - p[1] + 3.0 * p[2] + p[0] * p[0];
    let values: Vec<f64> = unit.iter().map(f).collect();
    for (scale, offset) in [
        (1e154, 0.0),
        (1e300, -5e301),
        (1e-300, 0.0),
        (1e-300, 3e-300),
    ] {
        let pts: Vec<[f64; 3]> = unit.iter().map(|p| p.map(|x| offset + x * scale)).collect();
        let field = DataField::new(&pts, 3, values.clone(), 1, &Reconstruction::default())
            .unwrap_or_else(|e| panic!("S = {scale:e}: {e}"));
        let out = run(&field, &points(3, &pts), &[Operator::Value, Operator::Grad]);
        for (i, p) in unit.iter().enumerate() {
            let want = [(2.0 + 2.0 * p[0]) / scale, -1.0 / scale, 3.0 / scale];
            let g = &out[1].values[3 * i..3 * i + 3];
            for a in 0..3 {
                assert!(
                    (g[a] - want[a]).abs() <= 1e-9 * want[a].abs(),
                    "S = {scale:e}, offset {offset:e}: gradient {g:?}, want {want:?}"
                );
            }
            assert!(
                (out[0].values[i] - values[i]).abs() < 1e-12,
                "S = {scale:e}"
            );
        }
    }
    // Samples a subnormal distance apart cannot be differentiated in f64: refused.
    let pts: Vec<[f64; 3]> = unit.iter().map(|p| p.map(|x| x * 1e-310)).collect();
    let m = data_error(DataField::new(
        &pts,
        3,
        values,
        1,
        &Reconstruction::default(),
    ));
    assert!(m.contains("smallest normal"), "{m}");
}

#[test]
fn two_layers_with_different_values_are_3d_data() {
    // The same jittered lattice on z = 0 and z = 0.01 (a one-cell-thick mesh's layout), but
    // f = x + 10z differs between the layers. Before, z was dropped and the layers averaged:
    // ∂f/∂z = 0 and f = x + 0.05 on both.
    let f = |x: &[f64; 3]| x[0] + 10.0 * x[2];
    let plane = jittered_lattice(2, 20, 0.2, 24);
    let samples: Vec<[f64; 3]> = plane
        .iter()
        .map(|p| [p[0], p[1], 0.0])
        .chain(plane.iter().map(|p| [p[0], p[1], 0.01]))
        .collect();
    let values: Vec<f64> = samples.iter().map(f).collect();
    let field = DataField::new(&samples, 3, values.clone(), 1, &Reconstruction::default()).unwrap();
    assert_eq!(field.axes(), &[0, 1, 2], "{:?}", field.reduction());
    assert_eq!(field.merged(), 0);
    let out = run(
        &field,
        &points(3, &samples),
        &[Operator::Value, Operator::Grad],
    );
    for (i, x) in samples.iter().enumerate() {
        assert!(
            (out[0].values[i] - values[i]).abs() < 1e-10,
            "value at {x:?}"
        );
        let g = &out[1].values[3 * i..3 * i + 3];
        assert!(
            (g[0] - 1.0).abs() < 1e-8 && g[1].abs() < 1e-8 && (g[2] - 10.0).abs() < 1e-6,
            "gradient {g:?} at {x:?}"
        );
    }
    // Asked for x and y alone, the layers coincide with different values: an error.
    let opts = Reconstruction {
        dim: Some(2),
        ..Reconstruction::default()
    };
    let m = data_error(DataField::new(&samples, 3, values, 1, &opts));
    assert!(m.contains("coincide"), "{m}");
}

#[test]
fn a_thin_slab_with_layers_across_it_is_not_flattened() {
    // A boundary-layer slab: 5 layers 2.5e-5 apart (thickness 1e-4, below 1e-3 of the
    // in-plane extent 1) under a 21 × 21 in-plane lattice, with f = x + (z/1e-4)² varying
    // across it. Before, z was dropped (extent below 1e-3 of the largest), the layers
    // coincided in the plane and were averaged without a check.
    let t = 1e-4;
    let f = |x: &[f64; 3]| x[0] + (x[2] / t) * (x[2] / t);
    let plane = jittered_lattice(2, 20, 0.2, 25);
    let samples: Vec<[f64; 3]> = (0..5)
        .flat_map(|k| plane.iter().map(move |p| [p[0], p[1], k as f64 * t / 4.0]))
        .collect();
    let values: Vec<f64> = samples.iter().map(f).collect();
    let field = DataField::new(&samples, 3, values.clone(), 1, &Reconstruction::default()).unwrap();
    assert_eq!(field.axes(), &[0, 1, 2], "{:?}", field.reduction());
    let out = run(
        &field,
        &points(3, &samples),
        &[Operator::Value, Operator::Grad],
    );
    for (i, x) in samples.iter().enumerate() {
        let dz = 2.0 * x[2] / (t * t);
        let g = &out[1].values[3 * i..3 * i + 3];
        assert!(
            (g[0] - 1.0).abs() < 1e-6 && (g[2] - dz).abs() < 1e-6 * (1.0 / t),
            "gradient {g:?} at {x:?}, want (1, 0, {dz})"
        );
        assert!(
            (out[0].values[i] - values[i]).abs() < 1e-9,
            "value at {x:?}"
        );
    }
    // The same slab as a single noisy layer (z within 1e-9, far below the spacing 0.05)
    // is a plane: flattened, and said so.
    let noisy: Vec<[f64; 3]> = plane
        .iter()
        .enumerate()
        .map(|(i, p)| [p[0], p[1], 1e-9 * ((i * 13) % 7) as f64])
        .collect();
    let values: Vec<f64> = noisy.iter().map(|p| p[0] * p[1]).collect();
    let field = DataField::new(&noisy, 3, values, 1, &Reconstruction::default()).unwrap();
    assert_eq!(field.axes(), &[0, 1]);
    let why = field.reduction().unwrap();
    assert!(
        why.contains("spacing") && why.contains("derivatives along z are 0"),
        "{why}"
    );
}

#[test]
fn samples_on_one_plane_are_described_as_one_plane() {
    // Before: "every sample lies on one of two planes z = 0 and z = 0".
    let pts: Vec<[f64; 3]> = jittered_lattice(2, 10, 0.2, 26);
    let values: Vec<f64> = pts.iter().map(|p| p[0] + p[1]).collect();
    let field = DataField::new(&pts, 3, values, 1, &Reconstruction::default()).unwrap();
    let (axis, why) = field.dropped_axis().expect("z is dropped");
    assert_eq!(axis, 2);
    assert!(
        why.contains("the plane z = 0") && !why.contains("two planes"),
        "{why}"
    );
    assert_eq!(
        field.reduction(),
        Some("2-D data: every sample lies on the plane z = 0; derivatives along z are 0")
    );
}
