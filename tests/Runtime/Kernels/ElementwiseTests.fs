module Nn.Tests.Runtime.Kernels.ElementwiseTests

open System
open Expecto
open Nn.Runtime.Kernels

/// Named tolerances: |got − expected| ≤ abs + rel·|expected|, against a float64 reference.
type Tol = { Abs: float; Rel: float }
/// Correctly rounded float operations (add, mul, sqrt, ...): half an ulp of the float result.
let rounded = { Abs = 0.0; Rel = 6e-8 }
/// Library transcendental functions (exp, log): a few ulp.
let fewUlp = { Abs = 1e-37; Rel = 5e-7 }
/// Functions composed of several rounded steps (tanh rational, sigmoid, gelu, softplus, elu, pow).
let composed = { Abs = 1e-37; Rel = 2.5e-6 }
/// gelu's far negative tail is ill-conditioned (x·d/dx log gelu ≈ 400 at x = −12), so float32 input rounding
/// alone moves it by hundreds of eps; this bounds that tail.
let geluTail = { Abs = 1e-37; Rel = 5e-5 }
/// Periodic functions with range reduction, on |x| ≤ 10: absolute.
let periodic = { Abs = 2e-6; Rel = 2e-6 }

/// Every length from empty past four 16-lane vectors, so every loop and remainder path runs.
let lengths = [ 0 .. 70 ]

let inputs seed n (lo: float) (hi: float) =
    let rng = Random(seed)
    Array.init n (fun _ -> float32 (lo + (hi - lo) * rng.NextDouble()))

let expectWithin (tol: Tol) (name: string) (got: float32[]) (expected: int -> float) =
    for i in 0 .. got.Length - 1 do
        let e = expected i
        let g = float got[i]
        let ok = (Double.IsNaN e && Double.IsNaN g) || (e = g) || abs (g - e) <= tol.Abs + tol.Rel * abs e
        if not ok then failtestf "%s: element %d of %d is %.9g, expected %.9g" name i got.Length g e

let unaryCase name (run: float32[] -> float32[] -> unit) (reference: float -> float) (lo, hi) tol =
    test name {
        for n in lengths do
            let x = inputs (n + 17) n lo hi
            let y = Array.create n nanf
            run x y
            expectWithin tol (sprintf "%s n=%d" name n) y (fun i -> reference (float x[i]))
    }

let binaryCase
    name
    (run: float32[] -> float32[] -> float32[] -> unit)
    (reference: float -> float -> float)
    (lo, hi)
    (lo2, hi2)
    tol
    =
    test name {
        for n in lengths do
            let x = inputs (n + 3) n lo hi
            let y = inputs (n + 1000) n lo2 hi2
            let d = Array.create n nanf
            run x y d
            expectWithin tol (sprintf "%s n=%d" name n) d (fun i -> reference (float x[i]) (float y[i]))
    }

let inline un<'op when 'op: struct and 'op :> IUnaryOp and 'op: (new: unit -> 'op) and 'op :> ValueType>
    (x: float32[])
    (y: float32[])
    =
    Elementwise.Unary<'op>(ReadOnlySpan x, Span y)

let inline bin<'op when 'op: struct and 'op :> IBinaryOp and 'op: (new: unit -> 'op) and 'op :> ValueType>
    (x: float32[])
    (y: float32[])
    (d: float32[])
    =
    Elementwise.Binary<'op>(ReadOnlySpan x, ReadOnlySpan y, Span d)

let sigmoid (x: float) = 1.0 / (1.0 + exp -x)
/// ½x(1 + tanh u) written as x·σ(2u), which does not cancel to 0 for large negative x.
let geluRef (x: float) = x * sigmoid (2.0 * sqrt (2.0 / Math.PI) * (x + 0.044715 * x * x * x))
/// log(1 + e) accurate for tiny e (a plain log(1.0 + e) loses e's digits below 1e-16).
let log1p (e: float) = let u = 1.0 + e in if u = 1.0 then e else log u * e / (u - 1.0)
let softplusRef (x: float) = max x 0.0 + log1p (exp (-(abs x)))

[<Tests>]
let tests =
    testList "Runtime.Kernels.Elementwise" [
        testList "unary, every length 0..70" [
            unaryCase "neg" un<NegOp> (fun x -> -x) (-5.0, 5.0) rounded
            unaryCase "abs" un<AbsOp> abs (-5.0, 5.0) rounded
            unaryCase "square" un<SquareOp> (fun x -> x * x) (-5.0, 5.0) rounded
            unaryCase "sqrt" un<SqrtOp> sqrt (0.0, 100.0) rounded
            unaryCase "exp" un<ExpOp> exp (-80.0, 80.0) fewUlp
            unaryCase "log" un<LogOp> log (1e-6, 1e6) fewUlp
            unaryCase "sin" un<SinOp> sin (-10.0, 10.0) periodic
            unaryCase "cos" un<CosOp> cos (-10.0, 10.0) periodic
            unaryCase "tanh (small)" un<TanhOp> tanh (-1.0, 1.0) composed
            unaryCase "tanh (wide)" un<TanhOp> tanh (-20.0, 20.0) composed
            unaryCase "tanh (tiny)" un<TanhOp> tanh (-1e-3, 1e-3) composed
            unaryCase "sigmoid" un<SigmoidOp> sigmoid (-40.0, 40.0) composed
            unaryCase "relu" un<ReluOp> (fun x -> max x 0.0) (-5.0, 5.0) rounded
            unaryCase "gelu" un<GeluOp> geluRef (-4.0, 12.0) composed
            unaryCase "gelu (negative tail)" un<GeluOp> geluRef (-12.0, -4.0) geluTail
            unaryCase "softplus" un<SoftplusOp> softplusRef (-40.0, 40.0) composed
            unaryCase "relu ∘ tanh (composed)" un<Compose<ReluOp, TanhOp>> (tanh >> max 0.0) (-3.0, 3.0) composed
        ]
        testList "binary, every length 0..70" [
            binaryCase "add" bin<AddOp> (+) (-5.0, 5.0) (-5.0, 5.0) rounded
            binaryCase "sub" bin<SubOp> (-) (-5.0, 5.0) (-5.0, 5.0) rounded
            binaryCase "mul" bin<MulOp> (*) (-5.0, 5.0) (-5.0, 5.0) rounded
            binaryCase "div" bin<DivOp> (/) (-5.0, 5.0) (0.1, 5.0) rounded
            binaryCase "max" bin<MaxOp> max (-5.0, 5.0) (-5.0, 5.0) rounded
            binaryCase "min" bin<MinOp> min (-5.0, 5.0) (-5.0, 5.0) rounded
            binaryCase "pow" bin<PowOp> (fun x y -> Math.Pow(x, y)) (0.01, 10.0) (-3.0, 3.0) composed
            binaryCase
                "relu(x + y) (then)"
                bin<Then<AddOp, ReluOp>>
                (fun x y -> max (x + y) 0.0)
                (-5.0, 5.0)
                (-5.0, 5.0)
                rounded
        ]
        testList "with a scalar" [
            unaryCase "leakyRelu 0.1" (fun x y -> Elementwise.BinaryScalar<LeakyReluOp>(ReadOnlySpan x, 0.1f, Span y))
                (fun x -> if x > 0.0 then x else float 0.1f * x) (-5.0, 5.0) rounded
            unaryCase "elu 1.3" (fun x y -> Elementwise.BinaryScalar<EluOp>(ReadOnlySpan x, 1.3f, Span y))
                (fun x -> if x > 0.0 then x else float 1.3f * (exp x - 1.0)) (-20.0, 5.0) composed
            unaryCase "elu near 0" (fun x y -> Elementwise.BinaryScalar<EluOp>(ReadOnlySpan x, 1f, Span y))
                (fun x -> if x > 0.0 then x else exp x - 1.0) (-1e-3, 1e-3) composed
            unaryCase "x^2.5" (fun x y -> Elementwise.BinaryScalar<PowOp>(ReadOnlySpan x, 2.5f, Span y))
                (fun x -> Math.Pow(x, 2.5)) (0.0, 10.0) composed
            unaryCase "1 - x (scalar first)" (fun x y -> Elementwise.ScalarBinary<SubOp>(1f, ReadOnlySpan x, Span y))
                (fun x -> 1.0 - x) (-5.0, 5.0) rounded
        ]
        test "pow special cases follow MathF.Pow" {
            let xs = [| 0f; 0f; 0f; -2f; -2f; -2f; 2f; -0.5f; 1f; 3f; 0f; -3f; 4f; 5f; 6f; 7f; -1f |]
            let ys = [| 2f; 0f; -1f; 3f; 2f; 0.5f; 0f; -3f; 100f; -2f; 1f; 1f; 0.5f; 1f; 2f; 3f; 5f |]
            let d = Array.zeroCreate xs.Length
            Elementwise.Binary<PowOp>(ReadOnlySpan xs, ReadOnlySpan ys, Span d)
            expectWithin composed "pow" d (fun i -> float (MathF.Pow(xs[i], ys[i])))
        }
        test "in place: dst is x" {
            let x = inputs 5 37 -3.0 3.0
            let expected = x |> Array.map (fun v -> tanh (float v))
            Elementwise.Unary<TanhOp>(ReadOnlySpan x, Span x)
            expectWithin composed "tanh in place" x (fun i -> expected[i])
        }
        test "extremes: sigmoid, softplus and tanh saturate without NaN" {
            let x = [| -1e30f; -100f; -88f; 88f; 100f; 1e30f; infinityf; -infinityf |]
            let s, sp, t = Array.zeroCreate x.Length, Array.zeroCreate x.Length, Array.zeroCreate x.Length
            Elementwise.Unary<SigmoidOp>(ReadOnlySpan x, Span s)
            Elementwise.Unary<SoftplusOp>(ReadOnlySpan x, Span sp)
            Elementwise.Unary<TanhOp>(ReadOnlySpan x, Span t)
            expectWithin composed "sigmoid" s (fun i -> sigmoid (float x[i]))
            expectWithin composed "softplus" sp (fun i ->
                if Double.IsInfinity(float x[i]) then max (float x[i]) 0.0 else softplusRef (float x[i]))
            expectWithin composed "tanh" t (fun i -> tanh (float x[i]))
        }
        test "short destination is refused" {
            Expect.throwsT<ArgumentException>
                (fun () -> Elementwise.Unary<ExpOp>(ReadOnlySpan(Array.zeroCreate 5), Span(Array.zeroCreate 4)))
                "5 values into 4"
        }
    ]
