//! `tanh` over a slice, in lanes: the activation every physics-informed network here
//! evaluates most (a quarter of a training step went to the C library's scalar `tanh`).
//! The fused network passes of training use it (`pinn::jets`); the tape's `tanh` op and
//! the expression language keep the C library's, which their tests hold them to.
//!
//! The formula is branch-free, so that the compiler vectorises the loop: for `|x| ≤ 0.625`
//! Cody and Waite's rational form `x + x·x²·P(x²)/Q(x²)` (the coefficients of Cephes'
//! `tanh`), above it `1 − 2/(e^{2|x|} + 1)` with `e^{2|x|}` by range reduction
//! (`2^n · e^r`, `|r| ≤ ln 2 / 2`, `e^r` by its Taylor polynomial of degree 13); the sign
//! is put back last. Both sides are computed for every lane and one is selected. Measured
//! within 2 units in the last place of the C library's `tanh` (a unit test checks it over
//! the whole range). No fused multiply-adds: the vector loop (AVX2, chosen at run time)
//! and the scalar one give the same bits, so results do not depend on the processor's
//! features, only on IEEE arithmetic.

/// `y[i] = tanh(z[i])` for `i < min(z.len(), y.len())`.
pub(crate) fn tanh(z: &[f64], y: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the processor has AVX2, checked just above.
        unsafe { tanh_avx2(z, y) };
        return;
    }
    lanes(z, y);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn tanh_avx2(z: &[f64], y: &mut [f64]) {
    lanes(z, y);
}

#[inline(always)]
fn lanes(z: &[f64], y: &mut [f64]) {
    for (y, &x) in y.iter_mut().zip(z) {
        *y = one(x);
    }
}

/// One lane: see the module's documentation.
#[inline(always)]
fn one(x: f64) -> f64 {
    // Cephes' tanh: P and Q of the rational form on |x| ≤ 0.625.
    const P: [f64; 3] = [
        -9.643_991_794_250_523e-1,
        -9.928_772_310_019_186e1,
        -1.614_687_684_417_084_5e3,
    ];
    const Q: [f64; 3] = [
        1.128_116_784_916_329_3e2,
        2.235_488_390_601_004_6e3,
        4.844_063_053_251_255e3,
    ];
    // ln 2 split so that n·LN2_HI is exact for |n| < 2^11 (fdlibm's split).
    const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
    const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
    // Adding it rounds to an integer in the low bits of the mantissa.
    const ROUND: f64 = 6_755_399_441_055_744.0; // 1.5 · 2^52
    let a = x.abs();
    // Rational form.
    let s = a * a;
    let p = (P[0] * s + P[1]) * s + P[2];
    let q = ((s + Q[0]) * s + Q[1]) * s + Q[2];
    let small = a + a * s * (p / q);
    // Exponential form; tanh(20) rounds to 1, so larger arguments are clamped there.
    let c = if a < 20.0 { a } else { 20.0 };
    let t = 2.0 * c * std::f64::consts::LOG2_E + ROUND;
    let n = t - ROUND;
    let r = (2.0 * c - n * LN2_HI) - n * LN2_LO;
    let mut e = 1.0 / 6_227_020_800.0; // 1/13!
    for k in (1..13).rev() {
        e = e * r + INV_FACT[k];
    }
    let e = e * r + 1.0;
    // 2^n from n's bits (0 ≤ n ≤ 58, so the exponent field never overflows).
    let two_n = f64::from_bits((t.to_bits().wrapping_sub(ROUND.to_bits()) + 1023) << 52);
    let large = 1.0 - 2.0 / (e * two_n + 1.0);
    (if a > 0.625 { large } else { small }).copysign(x)
}

/// `1/k!` for `k < 13`.
const INV_FACT: [f64; 13] = {
    let mut f = [1.0; 13];
    let mut k = 1;
    while k < 13 {
        f[k] = f[k - 1] / k as f64;
        k += 1;
    }
    f
};

#[cfg(test)]
mod tests {
    use super::*;

    fn ulps(a: f64, b: f64) -> u64 {
        let (a, b) = (a.to_bits() as i64, b.to_bits() as i64);
        (a - b).unsigned_abs()
    }

    /// Within 2 units in the last place of the C library's `tanh`, from subnormals to
    /// beyond saturation, on both sides of 0.625 and of 20; the special values exact.
    #[test]
    fn close_to_the_c_library() {
        let mut z: Vec<f64> = Vec::new();
        let mut x = 1e-300;
        while x < 50.0 {
            z.push(x);
            z.push(-x);
            x *= 1.001;
        }
        z.extend([
            0.625,
            0.625f64.next_up(),
            20.0,
            20.0f64.next_up(),
            710.0,
            f64::MAX,
        ]);
        let mut y = vec![0.0; z.len()];
        tanh(&z, &mut y);
        let mut scalar = vec![0.0; z.len()];
        lanes(&z, &mut scalar);
        for ((&x, &ours), &plain) in z.iter().zip(&y).zip(&scalar) {
            assert!(
                ulps(ours, x.tanh()) <= 2,
                "tanh({x:e}) = {ours:e}, not {:e}",
                x.tanh()
            );
            assert_eq!(ours.to_bits(), plain.to_bits(), "lanes differ at {x:e}");
        }
        let special = [0.0, -0.0, f64::INFINITY, f64::NEG_INFINITY, f64::NAN];
        tanh(&special, &mut y);
        assert_eq!(y[0].to_bits(), 0.0f64.to_bits());
        assert_eq!(y[1].to_bits(), (-0.0f64).to_bits());
        assert_eq!(y[2..4], [1.0, -1.0]);
        assert!(y[4].is_nan());
    }
}
