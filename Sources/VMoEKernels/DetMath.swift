/// Deterministic float32 elementary functions: only +, −, ×, ÷, fma, min/max, selects and bit
/// operations, each exactly defined by IEEE 754, so every machine computes the same bits (libm does not
/// promise that). There is one implementation, on 8-lane vectors; scalars and tails go through it with
/// padding, so no scalar/vector pair can drift apart. The sequences are part of the format spec
/// (schemas/vmoe-format-v1.md, "Arithmetic").
public enum DetMath {
    public typealias V = SIMD8<Float>

    static let ln2Hi: Float = 0.693145751953125      // 16 significant bits: n·ln2Hi is exact
    static let ln2Lo: Float = 1.428606765330187e-06

    /// e^x per lane; relative error below 3e-7 on the finite range.
    @inline(__always)
    public static func exp(_ x: V) -> V {
        var xc = x
        xc.replace(with: V(repeating: -104), where: x .< -104)
        xc.replace(with: V(repeating: 89), where: x .> 89)
        // Round to nearest even by adding 1.5·2^23: the sum's low mantissa bits are then the integer n.
        let magic = V(repeating: 12582912)
        let tf = xc * 1.442695041 + magic
        let n = tf - magic
        var r = xc.addingProduct(-n, V(repeating: ln2Hi))
        r = r.addingProduct(-n, V(repeating: ln2Lo))
        // Degree-7 Taylor polynomial of e^r, |r| ≤ 0.35 (truncation < 6e-9), Horner with fma.
        var p = V(repeating: 1.0 / 5040.0)
        p = V(repeating: 1.0 / 720.0).addingProduct(p, r)
        p = V(repeating: 1.0 / 120.0).addingProduct(p, r)
        p = V(repeating: 1.0 / 24.0).addingProduct(p, r)
        p = V(repeating: 1.0 / 6.0).addingProduct(p, r)
        p = V(repeating: 0.5).addingProduct(p, r)
        p = V(repeating: 1.0).addingProduct(p, r)
        p = V(repeating: 1.0).addingProduct(p, r)
        // p·2^n as p·2^n1·2^n2, n1 = ⌊n/2⌋: both factors are normal, so only the last product rounds.
        let ni = unsafeBitCast(tf, to: SIMD8<Int32>.self) &- 0x4B40_0000
        let n1 = ni &>> 1, n2 = ni &- n1
        let s1 = unsafeBitCast(SIMD8<UInt32>(truncatingIfNeeded: (n1 &+ 127) &<< 23), to: V.self)
        let s2 = unsafeBitCast(SIMD8<UInt32>(truncatingIfNeeded: (n2 &+ 127) &<< 23), to: V.self)
        var y = (p * s1) * s2
        y.replace(with: V(repeating: .infinity), where: x .> 88.72283)
        y.replace(with: V(repeating: 0), where: x .< -103.97208)
        y.replace(with: x, where: x .!= x)
        return y
    }

    /// The error function per lane: the rational approximation Eigen and XLA use (clamp to [−4, 4],
    /// odd degree-13 numerator over even degree-8 denominator, Horner with fma, one division).
    /// Absolute error below 3.5e-7; no exp, so GELU costs one division per element.
    @inline(__always)
    public static func erf(_ a: V) -> V {
        var x = a
        x.replace(with: V(repeating: -4), where: a .< -4)
        x.replace(with: V(repeating: 4), where: a .> 4)
        let x2 = x * x
        var p = V(repeating: -2.72614225801306e-10)
        p = V(repeating: 2.77068142495902e-08).addingProduct(x2, p)
        p = V(repeating: -2.10102402082508e-06).addingProduct(x2, p)
        p = V(repeating: -5.69250639462346e-05).addingProduct(x2, p)
        p = V(repeating: -7.34990630326855e-04).addingProduct(x2, p)
        p = V(repeating: -2.95459980854025e-03).addingProduct(x2, p)
        p = V(repeating: -1.60960333262415e-02).addingProduct(x2, p)
        p = x * p
        var q = V(repeating: -1.45660718464996e-05)
        q = V(repeating: -2.13374055278905e-04).addingProduct(x2, q)
        q = V(repeating: -1.68282697438203e-03).addingProduct(x2, q)
        q = V(repeating: -7.37332916720468e-03).addingProduct(x2, q)
        q = V(repeating: -1.42647390514189e-02).addingProduct(x2, q)
        return p / q
    }

    /// Exact (erf) GELU per lane: (0.5·x)·(1 + erf(x·(1/√2))).
    @inline(__always)
    public static func gelu(_ x: V) -> V {
        (0.5 * x) * (1 + erf(x * 0.70710678118654752))
    }

    public static func exp(_ x: Float) -> Float { exp(V(repeating: x))[0] }
    public static func erf(_ x: Float) -> Float { erf(V(repeating: x))[0] }
    public static func gelu(_ x: Float) -> Float { gelu(V(repeating: x))[0] }

    /// GELU of `n` floats in place (a direct loop: passing `gelu` as a function value would not inline).
    public static func geluInPlace(_ p: UnsafeMutablePointer<Float>, _ n: Int) {
        var i = 0
        while i + 8 <= n {
            let raw = UnsafeMutableRawPointer(p + i)
            raw.storeBytes(of: gelu(raw.loadUnaligned(as: V.self)), as: V.self)
            i += 8
        }
        if i < n { map(p + i, n - i, gelu) }
    }

    /// e^(x − m) of `n` floats in place (softmax's numerator).
    public static func expShiftedInPlace(_ p: UnsafeMutablePointer<Float>, _ n: Int, _ m: Float) {
        let mv = V(repeating: m)
        var i = 0
        while i + 8 <= n {
            let raw = UnsafeMutableRawPointer(p + i)
            raw.storeBytes(of: exp(raw.loadUnaligned(as: V.self) - mv), as: V.self)
            i += 8
        }
        if i < n { map(p + i, n - i) { exp($0 - mv) } }
    }

    /// Applies `f` to `n` floats in place, 8 at a time; the tail is padded with zeros.
    @inline(__always)
    public static func map(_ p: UnsafeMutablePointer<Float>, _ n: Int, _ f: (V) -> V) {
        var i = 0
        while i + 8 <= n {
            let raw = UnsafeMutableRawPointer(p + i)
            raw.storeBytes(of: f(raw.loadUnaligned(as: V.self)), as: V.self)
            i += 8
        }
        if i < n {
            var v = V(repeating: 0)
            for j in 0..<(n - i) { v[j] = p[i + j] }
            let y = f(v)
            for j in 0..<(n - i) { p[i + j] = y[j] }
        }
    }

    /// Sum of `n` values in the spec's fixed order: 8 lane partial sums (element i goes to lane i mod 8,
    /// in index order), combined as ((l0+l1)+(l2+l3))+((l4+l5)+(l6+l7)).
    @inline(__always)
    public static func sum8(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = V(repeating: 0)
        var i = 0
        while i + 8 <= n {
            acc += UnsafeRawPointer(p + i).loadUnaligned(as: V.self)
            i += 8
        }
        var lane = 0
        while i < n { acc[lane] += p[i]; i += 1; lane += 1 }
        return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))
    }

    /// Σ (p[i] - c)² in the same fixed order as `sum8`, each square accumulated with fma.
    @inline(__always)
    public static func sumSquaredDeviation8(_ p: UnsafePointer<Float>, _ n: Int, _ c: Float) -> Float {
        var acc = V(repeating: 0)
        let cv = V(repeating: c)
        var i = 0
        while i + 8 <= n {
            let d = UnsafeRawPointer(p + i).loadUnaligned(as: V.self) - cv
            acc = acc.addingProduct(d, d)
            i += 8
        }
        var lane = 0
        while i < n { let d = p[i] - c; acc[lane] = acc[lane].addingProduct(d, d); i += 1; lane += 1 }
        return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))
    }
}
