//! Operators and the evaluator: Taylor–Green closed forms, identities on random clouds,
//! the Jacobian convention, exact polynomial Laplacians, the Laplacian against the
//! Hessian's row sums, thread- and chunk-independence, and every error path.

use approx::assert_relative_eq;
use nabla::Error;
use nabla::autodiff::{GradOptions, Tape, Tensor, Var, grad};
use nabla::eval::{Array, EvalOptions, Operator, Points, evaluate};
use nabla::field::{Field, FnField};
use nabla::operators::{self, flow};
use nalgebra::{Matrix3, Vector3};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn taylor_green() -> impl Field {
    FnField::new(3, |x| {
        let cz = x[2].cos();
        vec![
            x[0].sin() * x[1].cos() * cz,
            -(x[0].cos() * x[1].sin() * cz),
            x[0] * 0.0,
        ]
    })
}

/// The Jacobian of the Taylor–Green vortex by hand, J[i][j] = ∂uᵢ/∂xⱼ.
fn tg_jacobian(x: f64, y: f64, z: f64) -> Matrix3<f64> {
    let (sx, cx, sy, cy, sz, cz) = (x.sin(), x.cos(), y.sin(), y.cos(), z.sin(), z.cos());
    Matrix3::new(
        cx * cy * cz,
        -sx * sy * cz,
        -sx * cy * sz,
        sx * sy * cz,
        -cx * cy * cz,
        cx * sy * sz,
        0.0,
        0.0,
        0.0,
    )
}

fn tg_velocity(x: f64, y: f64, z: f64) -> Vector3<f64> {
    Vector3::new(
        x.sin() * y.cos() * z.cos(),
        -x.cos() * y.sin() * z.cos(),
        0.0,
    )
}

fn lattice(k: usize, len: f64) -> Points {
    let h = len / (k - 1) as f64;
    let mut rows = Vec::new();
    for iz in 0..k {
        for iy in 0..k {
            for ix in 0..k {
                rows.push([ix as f64 * h, iy as f64 * h, iz as f64 * h]);
            }
        }
    }
    Points::from_rows(3, &rows).unwrap()
}

fn cloud(n: usize, seed: u64) -> Points {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let rows: Vec<[f64; 3]> = (0..n)
        .map(|_| [0; 3].map(|_| rng.random_range(-1.5..1.5)))
        .collect();
    Points::from_rows(3, &rows).unwrap()
}

fn array<'a>(out: &'a [Array], name: &str) -> &'a Array {
    out.iter()
        .find(|a| a.name == name)
        .unwrap_or_else(|| panic!("no array {name}"))
}

#[test]
fn taylor_green_quantities_match_closed_forms() {
    let pts = lattice(13, 2.0 * std::f64::consts::PI);
    let ops = [
        Operator::Value,
        Operator::Jacobian,
        Operator::Grad,
        Operator::Div,
        Operator::Curl,
        Operator::Vorticity,
        Operator::Lap,
        Operator::Q,
        Operator::QOpenfoam,
        Operator::Lambda2,
        Operator::LambdaCi,
        Operator::Helicity,
        Operator::Enstrophy,
        Operator::Advection,
        Operator::StrainRate,
        Operator::RotationRate,
    ];
    let out = evaluate(
        &taylor_green(),
        &pts,
        &ops,
        &EvalOptions {
            chunk_size: 100,
            ..Default::default()
        },
    )
    .unwrap();
    let tol = 1e-13;
    for i in 0..pts.len() {
        let [x, y, z] = pts.point(i);
        let (sx, cx, sy, cy, sz, cz) = (x.sin(), x.cos(), y.sin(), y.cos(), z.sin(), z.cos());
        let j = tg_jacobian(x, y, z);
        let u = tg_velocity(x, y, z);
        let at = |name: &str, c: usize| {
            let a = array(&out, name);
            a.values[i * a.components + c]
        };
        for r in 0..3 {
            assert_eq!(at("U", r), u[r]);
            for c in 0..3 {
                assert_relative_eq!(at("jacobian(U)", r * 3 + c), j[(r, c)], epsilon = tol);
                // OpenFOAM's grad(U) is the transpose.
                assert_relative_eq!(at("grad(U)", r * 3 + c), j[(c, r)], epsilon = tol);
            }
        }
        assert_relative_eq!(at("div(U)", 0), 0.0, epsilon = tol);
        // ∇×u = (−cos x sin y sin z, −sin x cos y sin z, 2 sin x sin y cos z)
        let w = [-cx * sy * sz, -sx * cy * sz, 2.0 * sx * sy * cz];
        for c in 0..3 {
            assert_relative_eq!(at("curl(U)", c), w[c], epsilon = tol);
            assert_eq!(at("vorticity(U)", c), at("curl(U)", c));
            // ∇²u = −3u
            assert_relative_eq!(at("lap(U)", c), -3.0 * u[c], epsilon = tol);
            // (u·∇)u = J u
            assert_relative_eq!(at("advection(U)", c), (j * u)[c], epsilon = tol);
        }
        // Q = −½ Σᵢⱼ Jᵢⱼ Jⱼᵢ for a divergence-free field = cos²z (sin²x sin²y − cos²x cos²y)
        let q = cz * cz * (sx * sx * sy * sy - cx * cx * cy * cy);
        assert_relative_eq!(at("Q(U)", 0), q, epsilon = tol);
        assert_relative_eq!(at("Q_openfoam(U)", 0), q, epsilon = tol);
        assert_relative_eq!(at("lambda2(U)", 0), flow::lambda2(&j), epsilon = tol);
        // λci: J = [[A, v], [0, 0]] has eigenvalues 0 and ±√(a² − b²) of the 2 × 2 block,
        // so λci² = max(0, cos²z (sin²x sin²y − cos²x cos²y)) = max(0, Q). Compared squared:
        // the square root amplifies round-off near 0 to ~1e-8, which is conditioning, not error.
        assert_relative_eq!(at("lambda_ci(U)", 0).powi(2), q.max(0.0), epsilon = tol);
        assert_relative_eq!(
            at("helicity(U)", 0),
            u[0] * w[0] + u[1] * w[1],
            epsilon = tol
        );
        assert_relative_eq!(
            at("enstrophy(U)", 0),
            0.5 * (w[0] * w[0] + w[1] * w[1] + w[2] * w[2]),
            epsilon = tol
        );
        for c in 0..9 {
            let (r, s) = (c / 3, c % 3);
            assert_relative_eq!(
                at("strain_rate(U)", c),
                0.5 * (j[(r, s)] + j[(s, r)]),
                epsilon = tol
            );
            assert_relative_eq!(
                at("rotation_rate(U)", c),
                0.5 * (j[(r, s)] - j[(s, r)]),
                epsilon = tol
            );
        }
    }
}

#[test]
fn jacobian_convention_is_row_i_gradient_of_component_i() {
    // u = (x + 2y + 3z, 5z, 7x): J = [[1, 2, 3], [0, 0, 5], [7, 0, 0]] everywhere.
    let f = FnField::new(3, |x| {
        vec![x[0] + x[1] * 2.0 + x[2] * 3.0, x[2] * 5.0, x[0] * 7.0]
    });
    let pts = cloud(5, 3);
    let out = evaluate(
        &f,
        &pts,
        &[Operator::Jacobian, Operator::Grad],
        &EvalOptions::default(),
    )
    .unwrap();
    let jac = [1.0, 2.0, 3.0, 0.0, 0.0, 5.0, 7.0, 0.0, 0.0];
    let grad_u = [1.0, 0.0, 7.0, 2.0, 0.0, 0.0, 3.0, 5.0, 0.0];
    for p in 0..5 {
        assert_eq!(&out[0].values[p * 9..(p + 1) * 9], &jac);
        assert_eq!(&out[1].values[p * 9..(p + 1) * 9], &grad_u);
    }
}

#[test]
fn identities_on_a_random_cloud() {
    // curl grad f = 0, div curl F = 0, lap f = div grad f = trace(hessian f).
    let pts = cloud(200, 11);
    let tape = Tape::new();
    let x: Vec<Var> = (0..3)
        .map(|k| tape.var(Tensor::column(pts.col(k).to_vec())))
        .collect();
    let f = (x[0] * x[1]).sin() * x[2].exp() + x[0].powi(3) * x[1];
    let big_f = [x[1] * x[2].cos(), (x[0] * x[2]).tanh(), x[0].exp() * x[1]];

    let g = operators::grad(f, &x, true).unwrap();
    for c in operators::curl(&g, &x).unwrap() {
        for v in c.value().unwrap().as_slice() {
            assert!(v.abs() <= 1e-12, "curl grad f = {v}");
        }
    }
    let curl_f = operators::curl(&big_f, &x).unwrap();
    for v in operators::div(&curl_f, &x)
        .unwrap()
        .value()
        .unwrap()
        .as_slice()
    {
        assert!(v.abs() <= 1e-12, "div curl F = {v}");
    }
    let lap = operators::laplacian(f, &x).unwrap().value().unwrap();
    let div_grad = operators::div(&g, &x).unwrap().value().unwrap();
    let h = operators::hessian(f, &x).unwrap();
    let trace = (h[0][0] + h[1][1] + h[2][2]).value().unwrap();
    for i in 0..pts.len() {
        assert_relative_eq!(
            lap[(i, 0)],
            div_grad[(i, 0)],
            max_relative = 1e-14,
            epsilon = 1e-13
        );
        assert_relative_eq!(
            lap[(i, 0)],
            trace[(i, 0)],
            max_relative = 1e-14,
            epsilon = 1e-13
        );
    }
    // The Hessian is symmetric.
    for a in 0..3 {
        for b in 0..3 {
            let (hab, hba) = (h[a][b].value().unwrap(), h[b][a].value().unwrap());
            for i in 0..pts.len() {
                assert_relative_eq!(
                    hab[(i, 0)],
                    hba[(i, 0)],
                    max_relative = 1e-14,
                    epsilon = 1e-13
                );
            }
        }
    }
}

#[test]
fn laplacian_is_linear() {
    let pts = cloud(50, 5);
    let tape = Tape::new();
    let x: Vec<Var> = (0..3)
        .map(|k| tape.var(Tensor::column(pts.col(k).to_vec())))
        .collect();
    let f = x[0].sin() * x[1];
    let g = (x[1] * x[2]).exp();
    let lhs = operators::laplacian(f * 2.0 + g * 3.0, &x)
        .unwrap()
        .value()
        .unwrap();
    let lf = operators::laplacian(f, &x).unwrap().value().unwrap();
    let lg = operators::laplacian(g, &x).unwrap().value().unwrap();
    for i in 0..pts.len() {
        assert_relative_eq!(
            lhs[(i, 0)],
            2.0 * lf[(i, 0)] + 3.0 * lg[(i, 0)],
            max_relative = 1e-13
        );
    }
}

#[test]
fn laplacians_of_polynomials_up_to_degree_three_are_exact() {
    // On dyadic points every product below is exact, so the results are asserted with ==.
    // f = x³ + x y² − 2 y z + z² + 4x − 1: ∇²f = 6x + 2x + 2 = 8x + 2.
    let rows: Vec<[f64; 3]> = (0..64)
        .map(|i| {
            [
                (i % 4) as f64 * 0.25 - 0.5,
                ((i / 4) % 4) as f64 * 0.5,
                (i / 16) as f64 - 1.5,
            ]
        })
        .collect();
    let pts = Points::from_rows(3, &rows).unwrap();
    let f = FnField::new(1, |x| {
        vec![x[0].powi(3) + x[0] * x[1] * x[1] - x[1] * x[2] * 2.0 + x[2] * x[2] + x[0] * 4.0 - 1.0]
    });
    let out = evaluate(
        &f,
        &pts,
        &[Operator::Lap, Operator::Hessian, Operator::Grad],
        &EvalOptions::default(),
    )
    .unwrap();
    for (i, p) in rows.iter().enumerate() {
        let [x, y, z] = *p;
        assert_eq!(out[0].values[i], 8.0 * x + 2.0, "at {p:?}");
        // Hessian [[6x, 2y, 0], [2y, 2x, −2], [0, −2, 2]]
        let h = [
            6.0 * x,
            2.0 * y,
            0.0,
            2.0 * y,
            2.0 * x,
            -2.0,
            0.0,
            -2.0,
            2.0,
        ];
        assert_eq!(&out[1].values[i * 9..(i + 1) * 9], &h, "at {p:?}");
        // ∇f = (3x² + y² + 4, 2xy − 2z, −2y + 2z)
        let g = [
            3.0 * x * x + y * y + 4.0,
            2.0 * x * y - 2.0 * z,
            -2.0 * y + 2.0 * z,
        ];
        assert_eq!(&out[2].values[i * 3..(i + 1) * 3], &g, "at {p:?}");
    }
    // Degrees 0, 1, 2 on their own.
    for (k, (field, lap)) in [(0, 0.0), (1, 0.0), (2, 6.0)].into_iter().enumerate() {
        let f = FnField::new(1, move |x| {
            vec![match field {
                0 => x[0] * 0.0 + 3.0,
                1 => x[0] * 2.0 - x[1] + x[2] * 5.0,
                _ => x[0] * x[0] + x[1] * x[1] + x[2] * x[2] + x[0] * x[1],
            }]
        });
        let out = evaluate(&f, &pts, &[Operator::Lap], &EvalOptions::default()).unwrap();
        assert!(out[0].values.iter().all(|&v| v == lap), "degree {k}");
    }
}

#[test]
fn true_laplacian_differs_from_hessian_row_sum_for_mixed_partials() {
    // f = sin(xy)·eᶻ: ∇²f = (1 − x² − y²) sin(xy) eᶻ. The ones cotangent on ∇f instead
    // gives H·1, which adds the mixed partials.
    let pts = cloud(100, 2);
    let f = FnField::new(1, |x| vec![(x[0] * x[1]).sin() * x[2].exp()]);
    let out = evaluate(
        &f,
        &pts,
        &[Operator::Lap, Operator::Hessian],
        &EvalOptions::default(),
    )
    .unwrap();
    let tape = Tape::new();
    let x: Vec<Var> = (0..3)
        .map(|k| tape.var(Tensor::column(pts.col(k).to_vec())))
        .collect();
    let fx = f.eval(&tape, &x)[0];
    let g = operators::grad(fx, &x, true).unwrap();
    let ones = tape.full(pts.len(), 1, 1.0);
    let row_sums: Vec<Vec<f64>> = g
        .iter()
        .map(|&ga| grad(&[ga], &x, &[ones], GradOptions::retain_graph()).unwrap())
        .map(|h| {
            let cols: Vec<Tensor> = h.iter().map(|v| v.value().unwrap()).collect();
            (0..pts.len())
                .map(|i| cols.iter().map(|c| c[(i, 0)]).sum())
                .collect()
        })
        .collect();
    let mut max_gap: f64 = 0.0;
    for i in 0..pts.len() {
        let [x, y, z] = pts.point(i);
        let exact = (1.0 - x * x - y * y) * (x * y).sin() * z.exp();
        assert_relative_eq!(
            out[0].values[i],
            exact,
            max_relative = 1e-13,
            epsilon = 1e-14
        );
        let hess_trace = out[1].values[i * 9] + out[1].values[i * 9 + 4] + out[1].values[i * 9 + 8];
        assert_relative_eq!(
            out[0].values[i],
            hess_trace,
            max_relative = 1e-14,
            epsilon = 1e-14
        );
        let wrong: f64 = row_sums.iter().map(|r| r[i]).sum();
        max_gap = max_gap.max((wrong - exact).abs());
    }
    assert!(
        max_gap > 0.1,
        "the row sums should differ from the Laplacian, gap {max_gap}"
    );
}

#[test]
fn hessian_vector_product_matches_hessian_times_vector() {
    let pts = cloud(30, 9);
    let tape = Tape::new();
    let x: Vec<Var> = (0..3)
        .map(|k| tape.var(Tensor::column(pts.col(k).to_vec())))
        .collect();
    let f = (x[0] * x[1]).sin() * x[2].exp() + x[1].powi(2) * x[2];
    let w = [tape.scalar(0.3), tape.scalar(-1.2), tape.scalar(2.0)];
    let hv = operators::hvp(f, &x, &w).unwrap();
    let h = operators::hessian(f, &x).unwrap();
    for a in 0..3 {
        let expected = (h[a][0] * 0.3 + h[a][1] * -1.2 + h[a][2] * 2.0)
            .value()
            .unwrap();
        let got = hv[a].value().unwrap();
        for i in 0..pts.len() {
            assert_relative_eq!(
                got[(i, 0)],
                expected[(i, 0)],
                max_relative = 1e-13,
                epsilon = 1e-13
            );
        }
    }
}

#[test]
fn two_dimensional_fields() {
    // u = (−y·x², x + y): J = [[−2xy, −x²], [1, 1]], div = 1 − 2xy, curl = 1 + x².
    let f = FnField::new(2, |x| vec![-(x[1] * x[0] * x[0]), x[0] + x[1]]);
    let rows: Vec<[f64; 3]> = (0..20)
        .map(|i| [i as f64 * 0.1 - 1.0, 0.5 - i as f64 * 0.05, 0.0])
        .collect();
    let pts = Points::from_rows(2, &rows).unwrap();
    let out = evaluate(
        &f,
        &pts,
        &[Operator::Div, Operator::Curl, Operator::Lap, Operator::Q],
        &EvalOptions::default(),
    )
    .unwrap();
    assert_eq!(out[1].components, 1);
    for (i, p) in rows.iter().enumerate() {
        let [x, y, _] = *p;
        assert_relative_eq!(out[0].values[i], 1.0 - 2.0 * x * y, epsilon = 1e-15);
        assert_relative_eq!(out[1].values[i], 1.0 + x * x, epsilon = 1e-15);
        // ∇²u = (−2y, 0)
        assert_relative_eq!(out[2].values[2 * i], -2.0 * y, epsilon = 1e-15);
        assert_eq!(out[2].values[2 * i + 1], 0.0);
        let j = Matrix3::new(-2.0 * x * y, -x * x, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0);
        assert_relative_eq!(out[3].values[i], flow::q_criterion(&j), epsilon = 1e-15);
    }
}

#[test]
fn flow_quantities_of_known_tensors() {
    // Solid-body rotation: Ω only. λci = 1 (eigenvalues ±i), Q = 1, λ2 = −1.
    let rot = Matrix3::new(0.0, -1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    assert_eq!(flow::q_criterion(&rot), 1.0);
    assert_relative_eq!(flow::swirling_strength(&rot), 1.0, epsilon = 1e-15);
    assert_eq!(flow::lambda2(&rot), -1.0);
    // Pure strain: no swirl, Q < 0, λ2 > 0.
    let strain = Matrix3::new(1.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 0.0);
    assert_eq!(flow::swirling_strength(&strain), 0.0);
    assert_eq!(flow::q_criterion(&strain), -1.0);
    // A compressible gradient: OpenFOAM's Q = Q + ½ (div u)².
    let j = Matrix3::new(1.0, 2.0, 0.5, -0.3, 2.0, 1.0, 0.7, -1.1, 0.4);
    assert_relative_eq!(
        flow::q_openfoam(&j),
        flow::q_criterion(&j) + 0.5 * j.trace().powi(2),
        epsilon = 1e-14
    );
    assert!((flow::q_openfoam(&j) - flow::q_criterion(&j)).abs() > 1.0);
}

fn bits(out: &[Array]) -> Vec<u64> {
    out.iter()
        .flat_map(|a| a.values.iter().map(|v| v.to_bits()))
        .collect()
}

#[test]
fn results_are_bit_identical_for_thread_counts_and_chunk_sizes() {
    let pts = cloud(5000, 21);
    let ops = [
        Operator::Jacobian,
        Operator::Div,
        Operator::Curl,
        Operator::Q,
        Operator::Lap,
        Operator::Lambda2,
    ];
    let run = |threads: usize, chunk: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            bits(
                &evaluate(
                    &taylor_green(),
                    &pts,
                    &ops,
                    &EvalOptions {
                        chunk_size: chunk,
                        ..Default::default()
                    },
                )
                .unwrap(),
            )
        })
    };
    let reference = run(1, 2048);
    assert_eq!(run(2, 2048), reference, "1 vs 2 threads");
    assert_eq!(run(2, 97), reference, "chunk 2048 vs 97");
    assert_eq!(run(1, 5000), reference, "chunk 2048 vs one chunk");
}

#[test]
fn operator_shape_errors_name_the_operator_and_shapes() {
    let pts = cloud(10, 1);
    let two = FnField::new(2, |x| vec![x[0], x[1]]);
    for op in [
        Operator::Curl,
        Operator::Div,
        Operator::Q,
        Operator::Lambda2,
        Operator::Advection,
    ] {
        match evaluate(&two, &pts, &[op], &EvalOptions::default()) {
            Err(Error::Operator { op: name, message }) => {
                assert_eq!(name, op.name());
                assert!(message.contains("2 components in 3-D"), "{message}");
            }
            other => panic!("{op:?}: expected an operator error, got {other:?}"),
        }
    }
    let err = evaluate(&two, &pts, &[Operator::Hessian], &EvalOptions::default()).unwrap_err();
    assert!(
        err.to_string().contains("hessian: needs a scalar field"),
        "{err}"
    );

    let liar = FnField::new(3, |x| vec![x[0]]);
    let err = evaluate(&liar, &pts, &[Operator::Value], &EvalOptions::default()).unwrap_err();
    assert!(
        err.to_string()
            .contains("declared 3 components but returned 1"),
        "{err}"
    );

    let bad_shape = FnField::new(1, |x| vec![x[0].tape().stack(&[x[0], x[1]])]);
    let err = evaluate(&bad_shape, &pts, &[Operator::Grad], &EvalOptions::default()).unwrap_err();
    assert!(
        err.to_string().contains("component 0 has shape (10, 2)"),
        "{err}"
    );

    let broken = FnField::new(1, |x| vec![x[0] + x[0].tape().var(Tensor::zeros(3, 3))]);
    assert!(matches!(
        evaluate(&broken, &pts, &[Operator::Grad], &EvalOptions::default()),
        Err(Error::ShapeMismatch { op: "add", .. })
    ));

    let err = evaluate(
        &two,
        &pts,
        &[Operator::Grad],
        &EvalOptions {
            chunk_size: 0,
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("chunk size"), "{err}");

    let tape = Tape::new();
    let x: Vec<Var> = (0..3).map(|_| tape.var(Tensor::zeros(4, 1))).collect();
    assert!(matches!(
        operators::curl(&x[..2], &x),
        Err(Error::Operator { .. })
    ));
    assert!(matches!(
        operators::div(&x[..2], &x),
        Err(Error::Operator { .. })
    ));
    assert!(matches!(
        operators::hvp(x[0], &x, &x[..1]),
        Err(Error::Operator { .. })
    ));
    assert!(matches!(
        operators::grad(x[0], &[], false),
        Err(Error::Operator { .. })
    ));
    let wide = tape.var(Tensor::zeros(4, 2));
    assert!(matches!(
        operators::grad(wide, &x, false),
        Err(Error::Operator { .. })
    ));
}

#[test]
fn bad_points_are_typed_errors() {
    assert!(
        matches!(Points::from_columns(vec![vec![], vec![]]), Err(Error::Points(m)) if m.contains("empty"))
    );
    assert!(
        matches!(Points::from_columns(vec![vec![1.0]]), Err(Error::Points(m)) if m.contains("2-D or 3-D"))
    );
    assert!(matches!(
        Points::from_columns(vec![vec![1.0, 2.0], vec![1.0]]),
        Err(Error::Points(m)) if m.contains("coordinate 1 has 1 values")
    ));
    let err = Points::from_rows(3, &[[0.0, 0.0, 0.0], [1.0, f64::NAN, 0.0]]).unwrap_err();
    assert_eq!(
        err,
        Error::Points("point 1 has a non-finite coordinate 1: NaN".into())
    );
    assert!(Points::from_rows(3, &[[f64::INFINITY, 0.0, 0.0]]).is_err());
    assert!(Points::from_rows(4, &[[0.0; 3]]).is_err());
}

#[test]
fn progress_reports_every_point_once() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let pts = cloud(1000, 4);
    let done = AtomicUsize::new(0);
    let progress = |k: usize| {
        done.fetch_add(k, Ordering::Relaxed);
    };
    let opts = EvalOptions {
        chunk_size: 64,
        progress: Some(&progress),
        field_name: "T",
        ..Default::default()
    };
    let out = evaluate(
        &FnField::new(1, |x| vec![x[0] * x[1]]),
        &pts,
        &[Operator::Grad],
        &opts,
    )
    .unwrap();
    assert_eq!(done.load(Ordering::Relaxed), 1000);
    assert_eq!(out[0].name, "grad(T)");
}

#[test]
fn evaluate_into_reuses_the_callers_arrays_and_gives_the_same_results() {
    let pts = cloud(3000, 8);
    let ops = [Operator::Jacobian, Operator::Curl, Operator::Lap];
    let fresh = evaluate(&taylor_green(), &pts, &ops, &EvalOptions::default()).unwrap();
    let mut kept = Vec::new();
    nabla::eval::evaluate_into(
        &taylor_green(),
        &pts,
        &ops,
        &EvalOptions::default(),
        &mut kept,
    )
    .unwrap();
    assert_eq!(kept, fresh);
    let before: Vec<*const f64> = kept.iter().map(|a| a.values.as_ptr()).collect();
    nabla::eval::evaluate_into(
        &taylor_green(),
        &pts,
        &ops,
        &EvalOptions::default(),
        &mut kept,
    )
    .unwrap();
    let after: Vec<*const f64> = kept.iter().map(|a| a.values.as_ptr()).collect();
    assert_eq!(before, after, "no new output buffers");
    assert_eq!(kept, fresh);
    // A different request reshapes the arrays.
    nabla::eval::evaluate_into(
        &taylor_green(),
        &pts,
        &[Operator::Div],
        &EvalOptions::default(),
        &mut kept,
    )
    .unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(
        (kept[0].name.as_str(), kept[0].values.len()),
        ("div(U)", 3000)
    );
}

#[test]
fn network_fields_are_bit_identical_for_thread_counts_and_chunk_sizes() {
    // A field with matrix products (an MLP): each point's result must still depend on that
    // point only, whatever the blocking of the products.
    let net = nabla::pinn::Mlp::new(3, &[16, 16], 3, nabla::pinn::Activation::Tanh, 5).unwrap();
    let pts = cloud(2000, 13);
    let ops = [Operator::Jacobian, Operator::Lap, Operator::Q];
    let run = |threads: usize, chunk: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let opts = EvalOptions {
            chunk_size: chunk,
            ..Default::default()
        };
        pool.install(|| bits(&evaluate(&net, &pts, &ops, &opts).unwrap()))
    };
    let reference = run(1, 2000);
    assert_eq!(run(2, 2000), reference);
    assert_eq!(run(2, 7), reference);
    assert_eq!(run(1, 333), reference);
}
