//! The operators the evaluator computes: names, output shapes and what they need.

use serde::Deserialize;

use crate::error::{Error, Result};

/// An operator that [`evaluate`](super::evaluate) can compute. In case files they are written in
/// lower case (`grad`, `div`, `lambda2`, …); output arrays are named `name(U)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operator {
    /// The field itself (`U`).
    Value,
    /// Gradient. Scalar field: `∇f`, `d` components. Vector field: OpenFOAM's `grad(U)`,
    /// `(∇U)ᵢⱼ = ∂uⱼ/∂xᵢ`, `m·d` components row-major. One pass per component.
    Grad,
    /// Jacobian `J[i][j] = ∂uᵢ/∂xⱼ`, row-major (the transpose of a vector field's `grad`).
    Jacobian,
    /// Divergence (trace of J); needs `m = d`.
    Div,
    /// Curl: 3 components in 3-D, the scalar `∂v/∂x − ∂u/∂y` in 2-D; needs `m = d`.
    Curl,
    /// Vorticity: the curl, under the name CFD users look for.
    Vorticity,
    /// Laplacian, componentwise (the vector Laplacian for vector fields). `m(1 + d)` passes.
    #[serde(alias = "laplacian")]
    Lap,
    /// Hessian of a scalar field, `d·d` components row-major. Shares passes with `lap`.
    Hessian,
    /// Strain-rate tensor `½(J + Jᵀ)`, 9 components (3-D embedding).
    StrainRate,
    /// Rotation-rate tensor `½(J − Jᵀ)`, 9 components.
    RotationRate,
    /// Q-criterion `½(‖Ω‖² − ‖S‖²)`.
    #[serde(rename = "Q", alias = "q")]
    Q,
    /// OpenFOAM's Q, `½(tr(∇u)² − tr(∇u·∇u))` = Q + ½(div u)².
    #[serde(rename = "Q_openfoam", alias = "q_openfoam")]
    QOpenfoam,
    /// λ2: middle eigenvalue of `S² + Ω²`.
    Lambda2,
    /// Swirling strength λci: imaginary part of J's complex eigenvalues.
    #[serde(rename = "lambda_ci")]
    LambdaCi,
    /// Helicity density `u·ω`.
    Helicity,
    /// Enstrophy density `½|ω|²`.
    Enstrophy,
    /// Convective term `(u·∇)u = J·u`.
    Advection,
    /// The time derivative `∂u/∂t`, componentwise, from the field's
    /// [`eval_ddt`](crate::field::Field::eval_ddt): exact for a formula (forward mode in
    /// `t`), a local polynomial in time for data of a series. No derivative passes.
    Ddt,
    /// The material derivative `Du/Dt = ∂u/∂t + (u·∇)u` of a velocity: `ddt` plus
    /// `advection` (the Jacobian's m passes).
    #[serde(rename = "DDt")]
    DDt,
}

impl Operator {
    /// Every operator, in a fixed order.
    pub const ALL: [Operator; 19] = [
        Operator::Value,
        Operator::Grad,
        Operator::Jacobian,
        Operator::Div,
        Operator::Curl,
        Operator::Vorticity,
        Operator::Lap,
        Operator::Hessian,
        Operator::StrainRate,
        Operator::RotationRate,
        Operator::Q,
        Operator::QOpenfoam,
        Operator::Lambda2,
        Operator::LambdaCi,
        Operator::Helicity,
        Operator::Enstrophy,
        Operator::Advection,
        Operator::Ddt,
        Operator::DDt,
    ];

    /// The name used in case files and output arrays.
    pub fn name(self) -> &'static str {
        match self {
            Operator::Value => "value",
            Operator::Grad => "grad",
            Operator::Jacobian => "jacobian",
            Operator::Div => "div",
            Operator::Curl => "curl",
            Operator::Vorticity => "vorticity",
            Operator::Lap => "lap",
            Operator::Hessian => "hessian",
            Operator::StrainRate => "strain_rate",
            Operator::RotationRate => "rotation_rate",
            Operator::Q => "Q",
            Operator::QOpenfoam => "Q_openfoam",
            Operator::Lambda2 => "lambda2",
            Operator::LambdaCi => "lambda_ci",
            Operator::Helicity => "helicity",
            Operator::Enstrophy => "enstrophy",
            Operator::Advection => "advection",
            Operator::Ddt => "ddt",
            Operator::DDt => "DDt",
        }
    }

    /// The output array's name for a field called `field`: `grad(U)`, or `U` for the value.
    pub fn array_name(self, field: &str) -> String {
        match self {
            Operator::Value => field.to_string(),
            op => format!("{}({field})", op.name()),
        }
    }

    /// Components per point for a field with `m` components in `d` dimensions, or an
    /// error naming the operator and the shapes when the operator does not apply.
    pub fn components(self, m: usize, d: usize) -> Result<usize> {
        let need = |ok: bool, what: &str| {
            if ok {
                Ok(())
            } else {
                Err(Error::Operator {
                    op: self.name().into(),
                    message: format!("needs {what}, got a field with {m} components in {d}-D"),
                })
            }
        };
        let velocity = "a vector field with as many components as coordinates";
        let product = |a: usize, b: usize| {
            a.checked_mul(b).ok_or_else(|| Error::Operator {
                op: self.name().into(),
                message: format!("{m} components in {d}-D: the number of values overflows"),
            })
        };
        Ok(match self {
            Operator::Value => m,
            Operator::Grad | Operator::Jacobian => product(m, d)?,
            Operator::Lap => m,
            Operator::Div => {
                need(m == d, velocity)?;
                1
            }
            Operator::Curl | Operator::Vorticity => {
                need(m == d, velocity)?;
                if d == 3 { 3 } else { 1 }
            }
            Operator::Hessian => {
                need(m == 1, "a scalar field")?;
                product(d, d)?
            }
            Operator::StrainRate | Operator::RotationRate => {
                need(m == d, velocity)?;
                9
            }
            Operator::Q
            | Operator::QOpenfoam
            | Operator::Lambda2
            | Operator::LambdaCi
            | Operator::Helicity
            | Operator::Enstrophy => {
                need(m == d, velocity)?;
                1
            }
            Operator::Advection | Operator::DDt => {
                need(m == d, velocity)?;
                m
            }
            Operator::Ddt => m,
        })
    }

    pub(super) fn needs_first(self) -> bool {
        !matches!(self, Operator::Value | Operator::Ddt)
    }

    /// Whether the operator differentiates in time (`ddt`, `DDt`): it needs a field that
    /// knows its time derivative ([`Field::eval_ddt`](crate::field::Field::eval_ddt)).
    pub fn in_time(self) -> bool {
        matches!(self, Operator::Ddt | Operator::DDt)
    }

    pub(super) fn needs_second(self) -> bool {
        matches!(self, Operator::Lap | Operator::Hessian)
    }
}
