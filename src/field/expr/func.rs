//! The function table: names, arities, and each one-argument function's f64 and tape op.

use crate::autodiff::Var;

// `Func1` comes from one row per function, `Variant => method`: the method of that name
// on `f64` and on `Var` (the tape op) computes it, so the plain-number and the tape
// evaluation cannot drift apart.
macro_rules! func1 {
    ($($variant:ident => $method:ident,)*) => {
        /// Functions of one argument, each the tape op of the same name.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(super) enum Func1 {
            $($variant,)*
        }

        impl Func1 {
            /// The function at a plain number.
            pub(super) fn f64(self, x: f64) -> f64 {
                match self {
                    $(Func1::$variant => x.$method(),)*
                }
            }

            /// The function recorded on the tape.
            pub(super) fn var(self, x: Var<'_>) -> Var<'_> {
                match self {
                    $(Func1::$variant => x.$method(),)*
                }
            }
        }
    };
}

func1! {
    Sqrt => sqrt,
    Exp => exp,
    Ln => ln,
    Sin => sin,
    Cos => cos,
    Tan => tan,
    Tanh => tanh,
    Sinh => sinh,
    Cosh => cosh,
    Abs => abs,
}

/// A function as written in an expression.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Func {
    One(Func1),
    Atan2,
    Pow,
}

/// Every function name, in the order error messages list them.
const FUNCTIONS: [(&str, Func); 13] = [
    ("sqrt", Func::One(Func1::Sqrt)),
    ("exp", Func::One(Func1::Exp)),
    ("ln", Func::One(Func1::Ln)),
    ("log", Func::One(Func1::Ln)),
    ("sin", Func::One(Func1::Sin)),
    ("cos", Func::One(Func1::Cos)),
    ("tan", Func::One(Func1::Tan)),
    ("tanh", Func::One(Func1::Tanh)),
    ("sinh", Func::One(Func1::Sinh)),
    ("cosh", Func::One(Func1::Cosh)),
    ("abs", Func::One(Func1::Abs)),
    ("atan2", Func::Atan2),
    ("pow", Func::Pow),
];

impl Func {
    pub(super) fn lookup(name: &str) -> Option<Func> {
        FUNCTIONS.iter().find(|(n, _)| *n == name).map(|&(_, f)| f)
    }

    pub(super) fn arity(self) -> usize {
        match self {
            Func::One(_) => 1,
            Func::Atan2 | Func::Pow => 2,
        }
    }
}

/// The names of all functions an expression may call, comma-separated.
pub fn function_names() -> String {
    FUNCTIONS
        .iter()
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(", ")
}
