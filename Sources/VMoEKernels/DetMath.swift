/// Deterministic float32 elementary functions: only +, −, ×, ÷, fma and bit operations, each
/// correctly rounded by IEEE 754, so every machine computes the same bits (libm does not promise that).
/// The exact sequences are part of the format spec (schemas/vmoe-format-v1.md, "Arithmetic").
public enum DetMath {
    static let ln2Hi: Float = 0.693145751953125      // 16 significant bits: n·ln2Hi is exact
    static let ln2Lo: Float = 1.428606765330187e-06

    /// e^x; relative error below 3e-7 on the finite range.
    @inline(__always)
    public static func exp(_ x: Float) -> Float {
        if x.isNaN { return x }
        if x > 88.72283 { return .infinity }
        if x < -103.97208 { return 0 }
        let n = (x * 1.442695041).rounded(.toNearestOrEven)
        var r = x.addingProduct(-n, ln2Hi)
        r = r.addingProduct(-n, ln2Lo)
        // Taylor polynomial of degree 7 for e^r, |r| ≤ 0.35 (truncation < 6e-9), Horner with fma.
        var p: Float = 1.0 / 5040.0
        p = (1.0 / 720.0 as Float).addingProduct(p, r)
        p = (1.0 / 120.0 as Float).addingProduct(p, r)
        p = (1.0 / 24.0 as Float).addingProduct(p, r)
        p = (1.0 / 6.0 as Float).addingProduct(p, r)
        p = (0.5 as Float).addingProduct(p, r)
        p = (1.0 as Float).addingProduct(p, r)
        p = (1.0 as Float).addingProduct(p, r)
        return scale(p, Int(n))
    }

    /// p·2^n for p in [0.7, 1.5] and n in [-150, 128], rounding once.
    @inline(__always)
    static func scale(_ p: Float, _ n: Int) -> Float {
        if n > 127 { return p * Float(bitPattern: 254 << 23) * Float(bitPattern: UInt32(n - 127 + 127) << 23) }
        if n < -126 {
            // p·2^-126 is exact; the second product rounds once into the subnormals.
            return p * Float(bitPattern: 1 << 23) * Float(bitPattern: UInt32(n + 126 + 127) << 23)
        }
        return p * Float(bitPattern: UInt32(n + 127) << 23)
    }

    /// The error function; absolute error below 2e-7.
    @inline(__always)
    public static func erf(_ x: Float) -> Float {
        if x.isNaN { return x }
        let a = abs(x)
        if a < 0.5 {
            // x·(2/√π)·Σ (-1)^n z^n / (n!(2n+1)), z = x², 8 terms (truncation < 3e-11).
            let z = x * x
            var p: Float = -1.0 / 75600.0
            p = (1.0 / 9360.0 as Float).addingProduct(p, z)
            p = (-1.0 / 1320.0 as Float).addingProduct(p, z)
            p = (1.0 / 216.0 as Float).addingProduct(p, z)
            p = (-1.0 / 42.0 as Float).addingProduct(p, z)
            p = (1.0 / 10.0 as Float).addingProduct(p, z)
            p = (-1.0 / 3.0 as Float).addingProduct(p, z)
            p = (1.0 as Float).addingProduct(p, z)
            return x * (p * 1.1283791670955126)
        }
        if a >= 4 { return x < 0 ? -1 : 1 }
        // erfc(a) = t·exp(-a² + P(t)), t = 1/(1 + a/2): Numerical Recipes' erfcc, relative error < 1.2e-7.
        let t = 1 / (1 as Float).addingProduct(0.5, a)
        var p: Float = 0.17087277
        p = (-0.82215223 as Float).addingProduct(p, t)
        p = (1.48851587 as Float).addingProduct(p, t)
        p = (-1.13520398 as Float).addingProduct(p, t)
        p = (0.27886807 as Float).addingProduct(p, t)
        p = (-0.18628806 as Float).addingProduct(p, t)
        p = (0.09678418 as Float).addingProduct(p, t)
        p = (0.37409196 as Float).addingProduct(p, t)
        p = (1.00002368 as Float).addingProduct(p, t)
        p = (-1.26551223 as Float).addingProduct(p, t)
        let y = 1 - t * exp(p.addingProduct(-a, a))
        return x < 0 ? -y : y
    }

    /// Exact (erf) GELU: (0.5·x)·(1 + erf(x·(1/√2))).
    @inline(__always)
    public static func gelu(_ x: Float) -> Float {
        (0.5 * x) * (1 + erf(x * 0.70710678118654752))
    }

    /// Sum of `n` values in the spec's fixed order: 8 lane partial sums (element i goes to lane i mod 8,
    /// in index order), combined as ((l0+l1)+(l2+l3))+((l4+l5)+(l6+l7)). Vectorises on any ISA and
    /// gives the same bits on all of them.
    @inline(__always)
    public static func sum8(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = SIMD8<Float>(repeating: 0)
        var i = 0
        while i + 8 <= n {
            acc += UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self)
            i += 8
        }
        var lane = 0
        while i < n { acc[lane] += p[i]; i += 1; lane += 1 }
        return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))
    }

    /// Σ (p[i] - c)² in the same fixed order as `sum8`, each square accumulated with fma.
    @inline(__always)
    public static func sumSquaredDeviation8(_ p: UnsafePointer<Float>, _ n: Int, _ c: Float) -> Float {
        var acc = SIMD8<Float>(repeating: 0)
        let cv = SIMD8<Float>(repeating: c)
        var i = 0
        while i + 8 <= n {
            let d = UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self) - cv
            acc = acc.addingProduct(d, d)
            i += 8
        }
        var lane = 0
        while i < n { let d = p[i] - c; acc[lane] = acc[lane].addingProduct(d, d); i += 1; lane += 1 }
        return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))
    }
}
