//! The `case.toml` schema, read with serde. Unknown keys are rejected with the list of
//! valid ones; every expression keeps its position in the file for error messages.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::PathBuf;

use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};

use crate::eval::Operator;
pub use crate::field::expr::Number;

/// The whole `case.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseFile {
    /// One line saying what the case shows (printed with the summary).
    #[serde(default)]
    pub description: Option<String>,
    /// Where the fields are evaluated.
    pub points: PointsSpec,
    /// Named constants usable in every expression (and in lattice bounds): numbers, or
    /// expressions of the constants above them (`nu = "1/Re"`), evaluated in the order
    /// of the file (the spans give it).
    #[serde(default)]
    pub constants: BTreeMap<String, toml::Spanned<Number>>,
    /// Named sub-expressions of `x, y, z, t` and the constants (`r2 = "x^2 + y^2"`),
    /// usable in every field, exact answer and source term, in any order as long as none
    /// uses itself; each is written out where it is used.
    #[serde(default)]
    pub definitions: BTreeMap<String, toml::Spanned<String>>,
    /// Times of a series (numbers or constant expressions such as `"1/nu"`): one
    /// output file per time and a `.pvd` collection. Without times, one file at `t = 0`
    /// (or, over a series of data files, one per time of the series; then `times` chooses
    /// among the series' times).
    #[serde(default)]
    pub times: Option<Vec<Number>>,
    /// The fields and what to compute from them.
    #[serde(default, rename = "field")]
    pub fields: Vec<FieldSpec>,
    /// Source terms of a manufactured solution of the incompressible Navier–Stokes
    /// equations, built from two of the fields.
    #[serde(default)]
    pub mms: Option<MmsSpec>,
    /// Output settings.
    #[serde(default)]
    pub output: OutputSpec,
    /// A physics-informed network to train (see [`crate::pinn::PinnConfig`]); once trained
    /// it is evaluated on the case's points like any other field.
    #[serde(default)]
    pub pinn: Option<crate::pinn::PinnConfig>,
    /// What to compute from the trained network.
    #[serde(default)]
    pub pinn_output: PinnOutputSpec,
    /// Where the arrays of data fields come from when the points are not those of the data
    /// (a lattice over scattered data). Default: the mesh or CSV file of `[points]`.
    #[serde(default)]
    pub data: Option<DataSpec>,
    /// How data fields are reconstructed (each field may override it).
    #[serde(default)]
    pub reconstruction: ReconstructionSpec,
}

/// The file the arrays of data fields come from.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSpec {
    /// A VTK file (`.vtk`, `.vtu`, `.vtp`, foamToVTK's `.vtm`), a series of them
    /// (`.vtm.series`, `.pvd`: the case runs over its times) or a CSV file with a header
    /// row, relative to the case directory.
    pub file: PathBuf,
    /// Carry the file's arrays into the output under their own names (only where the output
    /// points are the file's points). Default true.
    #[serde(default)]
    pub carry: Option<bool>,
    /// For an OpenFOAM case directory: the time directory to read (`"latest"`, the
    /// default, or a time such as `"0.5"`).
    #[serde(default)]
    pub time: Option<String>,
}

/// Settings of the local polynomial reconstruction of data fields; every one optional.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReconstructionSpec {
    /// Total degree of the local polynomial, 1 to 4 (default 2).
    #[serde(default)]
    pub degree: Option<usize>,
    /// Samples per stencil (default twice the number of monomials).
    #[serde(default)]
    pub neighbours: Option<usize>,
    /// `gaussian` (default) or `uniform`.
    #[serde(default)]
    pub weights: Option<WeightsSpec>,
    /// 2 or 3 coordinates (default: detect a one-cell-thick 2-D mesh).
    #[serde(default)]
    pub dim: Option<usize>,
    /// Where a mesh's samples are taken: `cells` (the cell values at the cell centres and
    /// the boundary patches' values at their face centres: a finite-volume solver's own
    /// values) or `points` (the point data). Default: `cells` where the mesh has the
    /// array as cell data, else `points`.
    #[serde(default)]
    pub samples: Option<SamplesSpec>,
    /// Which samples make a stencil: `nearest` (the k nearest) or `rings` (whole rings of
    /// mesh neighbours). Default: rings for a mesh's point data, nearest otherwise
    /// (measured on the known-answer cases of `cases/openfoam_known_answer`: for cell
    /// values the nearest samples were 3 to 15 times more accurate at degree 3).
    #[serde(default)]
    pub stencil: Option<StencilSpec>,
}

/// Which samples make a stencil.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StencilSpec {
    /// The k nearest samples (equal distances in the order of position).
    Nearest,
    /// Whole rings of mesh neighbours around the nearest sample.
    Rings,
}

/// Where the samples of a mesh's arrays are taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SamplesSpec {
    /// Cell data at the cell centres, plus the patches' values at the face centres.
    Cells,
    /// Point data at the points.
    Points,
}

/// How samples are weighted in a reconstruction.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WeightsSpec {
    /// Nearer samples count more.
    Gaussian,
    /// Every sample counts the same.
    Uniform,
}

/// The arrays a data field is made of: one array (any number of components), or one
/// scalar array per component.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum DataRef {
    /// One array, e.g. `"U"`.
    One(String),
    /// Scalar arrays, one per component, e.g. `["u", "v", "w"]`.
    Many(Vec<String>),
}

/// Operators of the trained network's fields: `u` for Poisson; the velocity `U` and the
/// pressure `p` for Navier–Stokes.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinnOutputSpec {
    /// Operators of `u` (Poisson) or of the velocity `U` (Navier–Stokes).
    #[serde(default)]
    pub operators: Vec<Operator>,
    /// Operators of the pressure `p` (Navier–Stokes).
    #[serde(default)]
    pub pressure_operators: Vec<Operator>,
}

/// The points of a case.
#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum PointsSpec {
    /// A regular lattice: `counts` points along each axis (2 or 3 axes) spanning `bounds`.
    Lattice {
        /// Points per axis.
        counts: Vec<usize>,
        /// `[low, high]` per axis; numbers or constant expressions such as `"2*pi"`.
        bounds: Vec<[Number; 2]>,
    },
    /// Uniform random points in a box, reproducible from `seed`.
    Random {
        /// Number of points.
        count: usize,
        /// `[low, high]` per axis (2 or 3 axes).
        bounds: Vec<[Number; 2]>,
        /// Seed of the generator (ChaCha8).
        #[serde(default)]
        seed: u64,
    },
    /// The points (and cells) of a VTK file in the case directory: legacy `.vtk`, or XML
    /// `.vtu` / `.vtp` / `.vtm`, such as OpenFOAM's foamToVTK output (its `.vtm` with the
    /// boundary patches); of a series (`.vtm.series`, `.pvd`), its first time's, and the
    /// case runs over its times; or of an OpenFOAM case directory (or its `.foam` file).
    Mesh {
        /// Path relative to the case directory.
        file: PathBuf,
        /// Where to evaluate: at the mesh's `points` (default; results are point data) or
        /// at its `cells`' centres (where a finite-volume solver's values live; results are
        /// cell data of the same cells, comparable with the solver's cell arrays).
        #[serde(default)]
        at: Option<AtSpec>,
        /// For an OpenFOAM case directory: the time directory to read (`"latest"`, the
        /// default, or a time such as `"0.5"`).
        #[serde(default)]
        time: Option<String>,
    },
    /// The points of a CSV file with a header row (`x,y[,z],…`), such as measured
    /// velocities; written as a `.vtp` point cloud.
    Csv {
        /// Path relative to the case directory.
        file: PathBuf,
    },
    /// An explicit list of points, `[[x, y, z], …]` (or `[x, y]` each, for 2-D).
    List {
        /// The points.
        points: Vec<Vec<f64>>,
    },
}

/// Where the fields of a mesh are evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AtSpec {
    /// At the mesh's points.
    Points,
    /// At the centres of its cells (OpenFOAM's cell centres).
    Cells,
}

/// One expression and the byte range of its string in the file, when known.
#[derive(Debug, Clone)]
pub struct Source {
    /// The expression text.
    pub text: String,
    /// Byte range of the TOML string (quotes included).
    pub span: Option<Range<usize>>,
}

/// A field's expressions: one string for a scalar, a list for a vector or tensor.
#[derive(Debug, Clone)]
pub struct Expressions(pub Vec<Source>);

impl<'de> Deserialize<'de> for Expressions {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Expressions;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an expression in quotes, or a list of them (one per component)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Expressions, E> {
                Ok(Expressions(vec![Source {
                    text: v.to_string(),
                    span: None,
                }]))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Expressions, E> {
                Ok(Expressions(vec![Source {
                    text: format!("{v:?}"),
                    span: None,
                }]))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Expressions, E> {
                Ok(Expressions(vec![Source {
                    text: v.to_string(),
                    span: None,
                }]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Expressions, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element::<toml::Spanned<Scalar>>()? {
                    let span = s.span();
                    out.push(Source {
                        text: s.into_inner().0,
                        span: Some(span),
                    });
                }
                if out.is_empty() {
                    return Err(de::Error::invalid_length(0, &"at least one component"));
                }
                Ok(Expressions(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// One component: a string expression or a plain number.
#[derive(Debug, Clone)]
struct Scalar(String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an expression in quotes or a number")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(format!("{v:?}")))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// A field, the operators to compute from it and optional exact answers.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    /// Name, used in array names: `U`, `grad(U)`, `error(curl(U))`.
    pub name: String,
    /// Expressions of `x, y, z, t` and the constants; one per component. Either this or
    /// `data`.
    #[serde(default)]
    pub value: Option<toml::Spanned<Expressions>>,
    /// The array (or scalar arrays, one per component) of the data file this field is
    /// reconstructed from. Either this or `value`.
    #[serde(default)]
    pub data: Option<toml::Spanned<DataRef>>,
    /// Reconstruction settings of this data field, over those of `[reconstruction]`.
    #[serde(default)]
    pub reconstruction: Option<ReconstructionSpec>,
    /// Arrays of the data file to compare with, by operator name: `grad = "grad(U)"` gives
    /// `error(grad(U))` and the relative L2 difference in the summary.
    #[serde(default)]
    pub compare: BTreeMap<Operator, toml::Spanned<String>>,
    /// Operators to compute (`grad`, `div`, `curl`, `lap`, `Q`, `lambda2`, …).
    #[serde(default)]
    pub operators: Vec<Operator>,
    /// Exact answers, by operator name (`value` for the field itself), with as many
    /// expressions as the operator has components.
    #[serde(default)]
    pub exact: BTreeMap<Operator, toml::Spanned<Expressions>>,
}

/// Source terms of a manufactured incompressible Navier–Stokes solution:
/// momentum `(u·∇)u + ∇p − ν∇²u` and continuity `∇·u`, computed exactly from the
/// velocity and pressure fields on the case's points.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MmsSpec {
    /// Name of the velocity field.
    pub velocity: String,
    /// Name of the pressure field.
    pub pressure: String,
    /// Kinematic viscosity (a number or a constant expression).
    pub nu: Number,
    /// Exact momentum source, one expression per component, to compare with.
    #[serde(default)]
    pub exact_momentum: Option<toml::Spanned<Expressions>>,
    /// Exact continuity source, to compare with.
    #[serde(default)]
    pub exact_continuity: Option<toml::Spanned<Expressions>>,
}

/// Output settings.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSpec {
    /// Base name of the output files (default: the case directory's name).
    #[serde(default)]
    pub name: Option<String>,
    /// `float64` (default) or `float32`: the precision of the written arrays.
    #[serde(default)]
    pub precision: crate::io::Precision,
    /// `none` (default), `lz4` or `zlib`: the compression of the written arrays.
    #[serde(default)]
    pub compression: crate::io::Compression,
    /// The names of the arrays to write (`["U", "Q(U)"]`); default: all of them.
    #[serde(default)]
    pub arrays: Option<Vec<String>>,
    /// Also write the results back into the OpenFOAM case directory the points were read
    /// from (`[points] kind = "mesh"`, `at = "cells"`): each array computed as the field
    /// `<name>_nabla` of the time directory read, so that paraFoam and OpenFOAM's tools see
    /// it. Writes outside the case's directory, into the OpenFOAM case, on this request
    /// only.
    #[serde(default)]
    pub openfoam: bool,
}
