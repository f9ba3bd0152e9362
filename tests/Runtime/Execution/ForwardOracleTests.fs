/// The forward semantics of every op against values the code did not compute: small cases whose expected numbers are
/// worked out by hand (sums, products, windows written out in the comments) or taken from the op's mathematical
/// definition (transcendental values to 16 digits from Python's math module, with the formula named), each run
/// through the float64 reference interpreter and the float32 fused engine (with and without the rewrite passes).
/// A new op adds its row here; a test fails while one has none.
module Nn.Tests.Runtime.Execution.ForwardOracleTests

open System
open System.Collections.Generic
open Expecto
open Nn.Runtime
open Nn.Runtime.IR
open Nn.Runtime.Data
open Nn.Runtime.Execution
open Nn.Runtime.Engine
open Nn.Runtime.Autodiff
open Nn.Tests.Runtime.Autodiff

let private sp = SourceSpan.None

/// A fed source of a case: Input, Param or State, with its shape and values.
type Source = { Kind: OpKind; Name: string; Dims: int[]; Values: float[] }

/// One case: the op it covers (the built graph must contain it), its sources, the graph over them and the expected
/// output.
type Row =
    { Op: OpKind; What: string; Sources: Source list; Build: GraphBuilder -> Node[] -> Node; Dims: int[]
      Expected: float[] }

let private src kind name dims values = { Kind = kind; Name = name; Dims = dims; Values = values }
let private x dims values = src OpKind.Input "x" dims values
let private y dims values = src OpKind.Input "y" dims values
let private row op what sources build dims expected =
    { Op = op; What = what; Sources = sources; Build = build; Dims = dims; Expected = expected }

/// The inputs of the elementwise unary rows (a kink, zero and both signs).
let private xs = [| -2.0; -0.5; 0.0; 0.5; 3.0 |]
/// Positive inputs for log and sqrt.
let private ps = [| 0.25; 1.0; 2.0; 4.0; 10.0 |]
/// Far tails, where a naive formula overflows or loses every digit.
let private tails = [| -30.0; -0.5; 0.0; 0.5; 30.0 |]

let private unary op what (inputs: float[]) (expected: float[]) =
    row op what [ x [| inputs.Length |] inputs ] (fun b n -> b.Unary(op, n[0], sp)) [| inputs.Length |] expected
let private alpha op (a: float) what (expected: float[]) =
    row op what [ x [| 5 |] xs ] (fun b n -> b.Unary(op, n[0], sp, a)) [| 5 |] expected

/// a: [2, 2] = [[1, 2], [3, 4]] with b: [2] = [2, -1] broadcast over the rows.
let private binary op what (expected: float[]) =
    row op what [ x [| 2; 2 |] [| 1.0; 2.0; 3.0; 4.0 |]; y [| 2 |] [| 2.0; -1.0 |] ]
        (fun b n -> b.Binary(op, n[0], n[1], sp)) [| 2; 2 |] expected

/// The 3×3 image 1..9 (row-major), one channel: [1, 3, 3, 1].
let private image = x [| 1; 3; 3; 1 |] [| 1.0 .. 9.0 |]
/// The 2×2 kernel [[1, 2], [3, 4]], one channel in and out: [2, 2, 1, 1].
let private kernel = src OpKind.Param "k" [| 2; 2; 1; 1 |] [| 1.0; 2.0; 3.0; 4.0 |]
/// An incoming gradient [[1, 2], [3, 4]] of a 2×2 output: [1, 2, 2, 1].
let private dy = src OpKind.Input "dy" [| 1; 2; 2; 1 |] [| 1.0; 2.0; 3.0; 4.0 |]

/// ∂/∂(operand i) of Σ op(…)·dy: the gradient ops (Conv2dGradInput, …) as the autodiff emits them.
let private gradientOf (i: int) (forward: GraphBuilder -> Node[] -> Node) (b: GraphBuilder) (n: Node[]) =
    let out = forward b n
    let d = n[n.Length - 1]
    let loss = b.Reduce(OpKind.Sum, b.Binary(OpKind.Mul, out, d, sp), [||], false, sp)
    (Backward.Gradients(b, loss, [| n[i] |]))[0]

let private conv (b: GraphBuilder) (n: Node[]) = b.Conv2d(n[0], n[1], 1, 1, [| 0; 0; 0; 0 |], sp)

/// ArgMax has no GraphBuilder method of its own (as in Metrics.Accuracy).
let private argMax (b: GraphBuilder) (v: Node) (axis: int) =
    b.Add(OpKind.ArgMax, [| v |], OpAttrs(Axes = [| axis |]), sp)

/// The 4×4 image 1..16 with 16 moved to the top left: windows of 2 at stride 2 have their maxima in every corner.
let private image4 =
    x [| 1; 4; 4; 1 |] [| 16.0; 2.0; 3.0; 4.0; 5.0; 6.0; 7.0; 8.0; 9.0; 10.0; 11.0; 12.0; 13.0; 14.0; 15.0; 1.0 |]

let rows : Row list =
    [ // ---- sources and constants: what was fed comes out
      row OpKind.Input "fed values" [ x [| 2 |] [| 1.5; -2.0 |] ] (fun _ n -> n[0]) [| 2 |] [| 1.5; -2.0 |]
      row OpKind.Param "fed values" [ src OpKind.Param "p" [| 2 |] [| 0.25; 7.0 |] ] (fun _ n -> n[0])
          [| 2 |] [| 0.25; 7.0 |]
      row OpKind.State "fed values" [ src OpKind.State "s" [| 2 |] [| -1.0; 3.0 |] ] (fun _ n -> n[0])
          [| 2 |] [| -1.0; 3.0 |]
      row OpKind.Const "2.5 filled into [3]" [] (fun b _ -> b.Const(2.5, sp, Shape.Of 3)) [| 3 |] [| 2.5; 2.5; 2.5 |]

      // ---- elementwise unary, on xs = [-2, -0.5, 0, 0.5, 3] unless said
      unary OpKind.Neg "−x" xs [| 2.0; 0.5; 0.0; -0.5; -3.0 |]
      unary OpKind.Exp "eˣ" xs [| 0.1353352832366127; 0.6065306597126334; 1.0; 1.6487212707001282; 20.085536923187668 |]
      unary OpKind.Log "ln x on [0.25, 1, 2, 4, 10]" ps
          [| -1.3862943611198906; 0.0; 0.6931471805599453; 1.3862943611198906; 2.302585092994046 |]
      unary OpKind.Sqrt "√x on [0.25, 1, 2, 4, 10]" ps [| 0.5; 1.0; 1.4142135623730951; 2.0; 3.1622776601683795 |]
      unary OpKind.Abs "|x|" xs [| 2.0; 0.5; 0.0; 0.5; 3.0 |]
      unary OpKind.Sign "sign x (0 at 0)" xs [| -1.0; -1.0; 0.0; 1.0; 1.0 |]
      unary OpKind.Tanh "tanh x" xs
          [| -0.9640275800758169; -0.46211715726000974; 0.0; 0.46211715726000974; 0.9950547536867305 |]
      unary OpKind.Sigmoid "1/(1+e⁻ˣ) on [-30, -0.5, 0, 0.5, 30]" tails
          [| 9.357622968839299e-14; 0.3775406687981454; 0.5; 0.6224593312018546; 0.9999999999999065 |]
      unary OpKind.Relu "max(x, 0)" xs [| 0.0; 0.0; 0.0; 0.5; 3.0 |]
      alpha OpKind.LeakyRelu 0.1 "x > 0 ? x : 0.1x" [| -0.2; -0.05; 0.0; 0.5; 3.0 |]
      alpha OpKind.Elu 0.5 "x > 0 ? x : 0.5(eˣ − 1)" [| -0.43233235838169365; -0.1967346701436833; 0.0; 0.5; 3.0 |]
      unary OpKind.Gelu "x/2·(1 + tanh(√(2/π)(x + 0.044715x³)))" xs
          [| -0.04540230591222494; -0.15428599017485606; 0.0; 0.34571400982514394; 2.996362607918227 |]
      unary OpKind.Softplus "ln(1 + eˣ) on [-30, -0.5, 0, 0.5, 30]" tails
          [| 9.357622968839737e-14; 0.4740769841801067; 0.6931471805599453; 0.9740769841801067; 30.000000000000092 |]
      unary OpKind.Sin "sin x" xs
          [| -0.9092974268256817; -0.479425538604203; 0.0; 0.479425538604203; 0.1411200080598672 |]
      unary OpKind.Cos "cos x" xs
          [| -0.4161468365471424; 0.8775825618903728; 1.0; 0.8775825618903728; -0.9899924966004454 |]
      unary OpKind.Square "x²" xs [| 4.0; 0.25; 0.0; 0.25; 9.0 |]
      unary OpKind.Reciprocal "1/x on [0.25, 1, 2, 4, 10]" ps [| 4.0; 1.0; 0.5; 0.25; 0.1 |]
      unary OpKind.Step "x > 0 ? 1 : 0 (0 at 0)" xs [| 0.0; 0.0; 0.0; 1.0; 1.0 |]
      // the first ops added in the one-definition shape (issue #17.2); hardSigmoid is PyTorch's and Keras 3's
      unary OpKind.Silu "x·σ(x)" xs
          [| -0.2384058440442351; -0.1887703343990727; 0.0; 0.3112296656009273; 2.8577223804673 |]
      unary OpKind.LogSigmoid "−ln(1 + e⁻ˣ) on [-30, -0.5, 0, 0.5, 30]" tails
          [| -30.000000000000092; -0.9740769841801067; -0.6931471805599453; -0.4740769841801067
             -9.357622968839737e-14 |]
      unary OpKind.HardSigmoid "clamp(x/6 + ½, 0, 1)" xs
          [| 0.16666666666666669; 0.4166666666666667; 0.5; 0.5833333333333334; 1.0 |]

      // ---- elementwise binary: [[1, 2], [3, 4]] op [2, -1] (broadcast over rows)
      binary OpKind.Add "a + b" [| 3.0; 1.0; 5.0; 3.0 |]
      binary OpKind.Sub "a − b" [| -1.0; 3.0; 1.0; 5.0 |]
      binary OpKind.Mul "a·b" [| 2.0; -2.0; 6.0; -4.0 |]
      binary OpKind.Div "a / b" [| 0.5; -2.0; 1.5; -4.0 |]
      binary OpKind.Max "max(a, b)" [| 2.0; 2.0; 3.0; 4.0 |]
      binary OpKind.Min "min(a, b)" [| 1.0; -1.0; 2.0; -1.0 |]
      binary OpKind.GreaterEqual "a ≥ b" [| 0.0; 1.0; 1.0; 1.0 |]
      row OpKind.Pow "aᵇ: 4^0.5, 2^−1, 9^0.5, 2^3"
          [ x [| 4 |] [| 4.0; 2.0; 9.0; 2.0 |]; y [| 4 |] [| 0.5; -1.0; 0.5; 3.0 |] ]
          (fun b n -> b.Binary(OpKind.Pow, n[0], n[1], sp)) [| 4 |] [| 2.0; 0.5; 3.0; 8.0 |]
      row OpKind.Equal "a = b" [ x [| 4 |] [| 1.0; 2.0; -3.0; 0.0 |]; y [| 4 |] [| 1.0; 2.5; -3.0; -0.0 |] ]
          (fun b n -> b.Binary(OpKind.Equal, n[0], n[1], sp)) [| 4 |] [| 1.0; 0.0; 1.0; 1.0 |]
      row OpKind.Where "cond ≠ 0 ? a : b"
          [ src OpKind.Input "c" [| 4 |] [| 1.0; 0.0; -2.0; 0.0 |]; x [| 4 |] [| 1.0; 2.0; 3.0; 4.0 |]
            y [| 4 |] [| 10.0; 20.0; 30.0; 40.0 |] ]
          (fun b n -> b.Where(n[0], n[1], n[2], sp)) [| 4 |] [| 1.0; 20.0; 3.0; 40.0 |]

      // ---- linear algebra and layout
      // [[1, 2, 3], [4, 5, 6]] @ [[1, 0], [0, 1], [1, -1]] = [[1+3, 2−3], [4+6, 5−6]]
      row OpKind.MatMul "[2, 3] @ [3, 2]"
          [ x [| 2; 3 |] [| 1.0 .. 6.0 |]; y [| 3; 2 |] [| 1.0; 0.0; 0.0; 1.0; 1.0; -1.0 |] ]
          (fun b n -> b.MatMul(n[0], n[1], sp)) [| 2; 2 |] [| 4.0; -1.0; 10.0; -1.0 |]
      // batch 0: [1, 2] @ [[1, 2], [3, 4]] = [7, 10]; batch 1: [3, 4] @ … = [15, 22]
      row OpKind.MatMul "batched [2, 1, 2] @ [2, 2]"
          [ x [| 2; 1; 2 |] [| 1.0; 2.0; 3.0; 4.0 |]; y [| 2; 2 |] [| 1.0; 2.0; 3.0; 4.0 |] ]
          (fun b n -> b.MatMul(n[0], n[1], sp)) [| 2; 1; 2 |] [| 7.0; 10.0; 15.0; 22.0 |]
      row OpKind.Transpose "[[1, 2, 3], [4, 5, 6]]ᵀ" [ x [| 2; 3 |] [| 1.0 .. 6.0 |] ]
          (fun b n -> b.Transpose(n[0], sp, [| 1; 0 |]))
          [| 3; 2 |] [| 1.0; 4.0; 2.0; 5.0; 3.0; 6.0 |]
      // [2, 1, 3] → [3, 1, 2]: element (i, 0, j) goes to (j, 0, i)
      row OpKind.Transpose "permutation [2, 1, 0]" [ x [| 2; 1; 3 |] [| 1.0 .. 6.0 |] ]
          (fun b n -> b.Transpose(n[0], sp, [| 2; 1; 0 |]))
          [| 3; 1; 2 |] [| 1.0; 4.0; 2.0; 5.0; 3.0; 6.0 |]
      row OpKind.Reshape "[2, 3] → [3, 2], row-major order kept" [ x [| 2; 3 |] [| 1.0 .. 6.0 |] ]
          (fun b n -> b.Reshape(n[0], Shape.Of(3, 2), sp)) [| 3; 2 |] [| 1.0 .. 6.0 |]
      row OpKind.Broadcast "[3] → [2, 3]" [ x [| 3 |] [| 1.0; 2.0; 3.0 |] ]
          (fun b n -> b.Broadcast(n[0], Shape.Of(2, 3), sp))
          [| 2; 3 |] [| 1.0; 2.0; 3.0; 1.0; 2.0; 3.0 |]
      row OpKind.Concat "[[1], [2]] ++ [[3, 4], [5, 6]] along axis 1"
          [ x [| 2; 1 |] [| 1.0; 2.0 |]; y [| 2; 2 |] [| 3.0 .. 6.0 |] ]
          (fun b n -> b.Concat([ n[0]; n[1] ], 1, sp)) [| 2; 3 |] [| 1.0; 3.0; 4.0; 2.0; 5.0; 6.0 |]
      // rows 1..2, columns 0..1 of [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]]
      row OpKind.Slice "rows 1–2, columns 0–1 of a [3, 4]" [ x [| 3; 4 |] [| 1.0 .. 12.0 |] ]
          (fun b n -> b.Slice(n[0], [| 1; 0 |], [| 3; 2 |], sp)) [| 2; 2 |] [| 5.0; 6.0; 9.0; 10.0 |]
      // one zero row before, two zero columns after
      row OpKind.Pad "[[1, 2], [3, 4]] padded (1, 0) before, (0, 2) after" [ x [| 2; 2 |] [| 1.0; 2.0; 3.0; 4.0 |] ]
          (fun b n -> b.Pad(n[0], [| 1; 0 |], [| 0; 2 |], sp)) [| 3; 4 |]
          [| 0.0; 0.0; 0.0; 0.0; 1.0; 2.0; 0.0; 0.0; 3.0; 4.0; 0.0; 0.0 |]
      // rows 2, 0, 2, 1 of [[1, 2], [3, 4], [5, 6]], ids [2, 2] → [2, 2, 2]
      row OpKind.Gather "rows [[2, 0], [2, 1]] of a [3, 2] table"
          [ x [| 3; 2 |] [| 1.0 .. 6.0 |]; y [| 2; 2 |] [| 2.0; 0.0; 2.0; 1.0 |] ]
          (fun b n -> b.Gather(n[0], n[1], sp)) [| 2; 2; 2 |] [| 5.0; 6.0; 1.0; 2.0; 5.0; 6.0; 3.0; 4.0 |]
      // rows [1, 2], [3, 4], [5, 6] added at ids 2, 0, 2 of a zero [3, 2]: row 0 = [3, 4], row 1 = 0, row 2 = [6, 8]
      row OpKind.ScatterAdd "rows at ids [2, 0, 2] summed into a [3, 2]"
          [ x [| 3; 2 |] [| 1.0 .. 6.0 |]; y [| 3 |] [| 2.0; 0.0; 2.0 |] ]
          (fun b n -> b.ScatterAdd(n[0], n[1], Shape.Of(3, 2), sp)) [| 3; 2 |] [| 3.0; 4.0; 0.0; 0.0; 6.0; 8.0 |]

      // ---- reductions of [[1, 2, 3], [4, 5, −6]]
      row OpKind.Sum "over axis 1" [ x [| 2; 3 |] [| 1.0; 2.0; 3.0; 4.0; 5.0; -6.0 |] ]
          (fun b n -> b.Reduce(OpKind.Sum, n[0], [| 1 |], false, sp)) [| 2 |] [| 6.0; 3.0 |]
      row OpKind.Sum "over everything, dims kept" [ x [| 2; 3 |] [| 1.0; 2.0; 3.0; 4.0; 5.0; -6.0 |] ]
          (fun b n -> b.Reduce(OpKind.Sum, n[0], [||], true, sp)) [| 1; 1 |] [| 9.0 |]
      row OpKind.Mean "over axis 0" [ x [| 2; 3 |] [| 1.0; 2.0; 3.0; 4.0; 5.0; -6.0 |] ]
          (fun b n -> b.Reduce(OpKind.Mean, n[0], [| 0 |], false, sp)) [| 3 |] [| 2.5; 3.5; -1.5 |]
      row OpKind.ReduceMax "over axis 1, kept" [ x [| 2; 3 |] [| 1.0; 2.0; 3.0; 4.0; 5.0; -6.0 |] ]
          (fun b n -> b.Reduce(OpKind.ReduceMax, n[0], [| 1 |], true, sp)) [| 2; 1 |] [| 3.0; 5.0 |]
      row OpKind.ArgMax "index of the row maximum (the first of ties), axis kept"
          [ x [| 3; 3 |] [| 1.0; 3.0; 2.0; -1.0; -2.0; -3.0; 4.0; 0.0; 4.0 |] ]
          (fun b n -> argMax b n[0] 1) [| 3; 1 |] [| 1.0; 0.0; 0.0 |]

      // ---- normalised exponentials of the rows [1, 2, 3] and [0, 0, −1]: e^(xᵢ − max) / Σ
      row OpKind.Softmax "over axis 1" [ x [| 2; 3 |] [| 1.0; 2.0; 3.0; 0.0; 0.0; -1.0 |] ]
          (fun b n -> b.Softmax(OpKind.Softmax, n[0], 1, sp)) [| 2; 3 |]
          [| 0.09003057317038046; 0.24472847105479764; 0.6652409557748218
             0.4223187982515182; 0.4223187982515182; 0.15536240349696362 |]
      row OpKind.LogSoftmax "over axis 1" [ x [| 2; 3 |] [| 1.0; 2.0; 3.0; 0.0; 0.0; -1.0 |] ]
          (fun b n -> b.Softmax(OpKind.LogSoftmax, n[0], 1, sp)) [| 2; 3 |]
          [| -2.40760596444438; -1.4076059644443804; -0.40760596444438046
             -0.8619948040582511; -0.8619948040582511; -1.861994804058251 |]
      row OpKind.Softmax "over axis 0 of [[1, 0], [1, 0]]: halves" [ x [| 2; 2 |] [| 1.0; 0.0; 1.0; 0.0 |] ]
          (fun b n -> b.Softmax(OpKind.Softmax, n[0], 0, sp)) [| 2; 2 |] [| 0.5; 0.5; 0.5; 0.5 |]

      // ---- convolution, NHWC, kernels [kh, kw, cin, cout]
      // out(i, j) = x(i, j)·1 + x(i, j+1)·2 + x(i+1, j)·3 + x(i+1, j+1)·4: 1+4+12+20, 2+6+15+24, 4+10+21+32, 5+12+24+36
      row OpKind.Conv2d "3×3 image 1..9, kernel [[1, 2], [3, 4]]" [ image; kernel ] conv [| 1; 2; 2; 1 |]
          [| 37.0; 47.0; 67.0; 77.0 |]
      // one zero row on top and one zero column on the left, stride 2: windows at padded (0, 0), (0, 2), (2, 0), (2, 2)
      // see 1·4; 2·3 + 3·4; 4·2 + 7·4; 5·1 + 6·2 + 8·3 + 9·4
      row OpKind.Conv2d "padded top and left, stride 2" [ image; kernel ]
          (fun b n -> b.Conv2d(n[0], n[1], 2, 2, [| 1; 1; 0; 0 |], sp)) [| 1; 2; 2; 1 |] [| 4.0; 18.0; 36.0; 77.0 |]
      // a 2×1 kernel [1, 2] gives a 2×3 output (height ≠ width): x(i, j) + 2·x(i+1, j) = 1+8, 2+10, 3+12 / 4+14, …
      row OpKind.Conv2d "2×1 kernel: a 2×3 output" [ image; src OpKind.Param "k" [| 2; 1; 1; 1 |] [| 1.0; 2.0 |] ]
          conv [| 1; 2; 3; 1 |] [| 9.0; 12.0; 15.0; 18.0; 21.0; 24.0 |]
      // one pixel [1, 2], kernel [[1, 2, 3], [4, 5, 6]] (cin × cout): [1+8, 2+10, 3+12]
      row OpKind.Conv2d "1×1: channels in × out" [ x [| 1; 1; 1; 2 |] [| 1.0; 2.0 |];
                                                    src OpKind.Param "k" [| 1; 1; 2; 3 |] [| 1.0 .. 6.0 |] ]
          conv [| 1; 1; 1; 3 |] [| 9.0; 12.0; 15.0 |]
      // dx(p, q) = Σ dy(i, j)·k(p−i, q−j): 1; 2+2; 4 / 3+3; 4+6+6+4; 8+8 / 9; 12+12; 16
      row OpKind.Conv2dGradInput "∂/∂x of Σ conv(x, k)·dy" [ image; kernel; dy ] (gradientOf 0 conv) [| 1; 3; 3; 1 |]
          [| 1.0; 4.0; 4.0; 6.0; 20.0; 16.0; 9.0; 24.0; 16.0 |]
      // dk(a, b) = Σ x(i+a, j+b)·dy(i, j): the same sums as the forward case
      row OpKind.Conv2dGradKernel "∂/∂k of Σ conv(x, k)·dy" [ image; kernel; dy ] (gradientOf 1 conv) [| 2; 2; 1; 1 |]
          [| 37.0; 47.0; 67.0; 77.0 |]

      // ---- pooling of image4 = [[16, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 1]]
      row OpKind.MaxPool2d "2×2 windows, stride 2" [ image4 ] (fun b n -> b.Pool(OpKind.MaxPool2d, n[0], 2, 2, sp))
          [| 1; 2; 2; 1 |] [| 16.0; 8.0; 14.0; 15.0 |]
      // 3×3 image −9..−1 with a padded row and column after: the window at (2, 2) holds −1 and three padded cells
      // (a padded 0 would win every window on the border)
      row OpKind.MaxPool2d "padded cells are never the maximum" [ x [| 1; 3; 3; 1 |] [| -9.0 .. -1.0 |] ]
          (fun b n -> b.Pool(OpKind.MaxPool2d, n[0], 2, 2, [| 0; 0; 1; 1 |], sp))
          [| 1; 2; 2; 1 |] [| -5.0; -4.0; -2.0; -1.0 |]
      // the top two rows of image4, a 1×2 output: max(16, 2, 5, 6), max(3, 4, 7, 8)
      row OpKind.MaxPool2d "a 2×4 image: a 1×2 output"
          [ x [| 1; 2; 4; 1 |] [| 16.0; 2.0; 3.0; 4.0; 5.0; 6.0; 7.0; 8.0 |] ]
          (fun b n -> b.Pool(OpKind.MaxPool2d, n[0], 2, 2, sp)) [| 1; 1; 2; 1 |] [| 16.0; 8.0 |]
      // (16+2+5+6)/4, (3+4+7+8)/4, (9+10+13+14)/4, (11+12+15+1)/4
      row OpKind.AvgPool2d "2×2 windows, stride 2" [ image4 ] (fun b n -> b.Pool(OpKind.AvgPool2d, n[0], 2, 2, sp))
          [| 1; 2; 2; 1 |] [| 7.25; 5.5; 11.5; 9.75 |]
      // windows at 0 and 2 of a 3-wide padded to 4: (1+2+4+5)/4, (3+6)/2, (7+8)/2, 9/1
      row OpKind.AvgPool2d "padded cells do not count" [ image ]
          (fun b n -> b.Pool(OpKind.AvgPool2d, n[0], 2, 2, [| 0; 0; 1; 1 |], sp))
          [| 1; 2; 2; 1 |] [| 3.0; 4.5; 7.5; 9.0 |]
      // each window's dy goes to its maximum: 16 at (0, 0), 8 at (1, 3), 14 at (3, 1), 15 at (3, 2)
      row OpKind.MaxPool2dGrad "∂/∂x of Σ maxPool(x)·dy" [ image4; dy ]
          (gradientOf 0 (fun b n -> b.Pool(OpKind.MaxPool2d, n[0], 2, 2, sp))) [| 1; 4; 4; 1 |]
          [| 1.0; 0.0; 0.0; 0.0; 0.0; 0.0; 0.0; 2.0; 0.0; 0.0; 0.0; 0.0; 0.0; 3.0; 4.0; 0.0 |]
      // each window's dy/4 on its four cells
      row OpKind.AvgPool2dGrad "∂/∂x of Σ avgPool(x)·dy" [ image4; dy ]
          (gradientOf 0 (fun b n -> b.Pool(OpKind.AvgPool2d, n[0], 2, 2, sp))) [| 1; 4; 4; 1 |]
          [| 0.25; 0.25; 0.5; 0.5; 0.25; 0.25; 0.5; 0.5; 0.75; 0.75; 1.0; 1.0; 0.75; 0.75; 1.0; 1.0 |]

      // ---- randomness and labels
      // p = 0 keeps everything, scaled by 1/(1 − 0)
      row OpKind.DropoutMask "p = 0: all ones" [ x [| 2; 3 |] [| 1.0 .. 6.0 |] ]
          (fun b n -> b.DropoutMask(n[0], 0.0, sp))
          [| 2; 3 |] [| 1.0; 1.0; 1.0; 1.0; 1.0; 1.0 |]
      row OpKind.OneHot "[2, 0, 1] into 3 classes" [ x [| 3 |] [| 2.0; 0.0; 1.0 |] ] (fun b n -> b.OneHot(n[0], 3, sp))
          [| 3; 3 |] [| 0.0; 0.0; 1.0; 1.0; 0.0; 0.0; 0.0; 1.0; 0.0 |]

      // ---- collectives (several ranks: Runtime.IR.Primitives.Collective)
      row OpKind.RankSum "one process: the identity" [ x [| 2; 2 |] [| 1.0; -2.0; 3.0; 0.5 |] ]
          (fun b n -> b.RankSum(n[0], sp)) [| 2; 2 |] [| 1.0; -2.0; 3.0; 0.5 |] ]

/// float64 reference: the expected numbers are correctly rounded to 16–17 digits; a few ulps of float64.
let private referenceTol : Tolerance.Tol = { Abs = 1e-15; Rel = 1e-13 }
/// float32 fused engine: inputs rounded to float32 (half an ulp, 6e-8 relative) and vectorised exp/tanh within
/// 2.5e-6 (ElementwiseTests.composed); 5e-6 relative covers both, Abs the values near zero (sin of a rounded π…).
let private fusedTol : Tolerance.Tol = { Abs = 1e-7; Rel = 5e-6 }

let private expectValues (tol: Tolerance.Tol) (what: string) (dims: int[]) (data: float[]) (r: Row) =
    Expect.equal dims r.Dims (what + ": shape")
    Expect.equal data.Length r.Expected.Length (what + ": count")
    for i in 0 .. data.Length - 1 do
        if not (Tolerance.withinScale tol 0.0 r.Expected[i] data[i]) then
            failtestf "%s: element %d is %.17g, expected %.17g" what i data[i] r.Expected[i]

let private run (r: Row) =
    let b = GraphBuilder()
    let nodes =
        r.Sources |> List.map (fun s ->
            match s.Kind with
            | OpKind.Param -> b.Param(s.Name, Shape.Of s.Dims, InitSpec.Zeros, sp)
            | OpKind.State -> b.State(s.Name, Shape.Of s.Dims, InitSpec.Zeros, sp)
            | _ -> b.Input(s.Name, Shape.Of s.Dims, sp))
    let out = r.Build b (Array.ofList nodes)
    let g = b.Build [ KeyValuePair("out", out) ]
    Expect.isTrue (g.Nodes |> Seq.exists (fun n -> n.Op = r.Op)) $"the graph has a {r.Op} node"
    let feeds64 = Dictionary<string, Tensor<double>>()
    for s in r.Sources do feeds64[s.Name] <- Tensor<double>(s.Dims, s.Values)
    let reference = (ReferenceInterpreter<double>.Run(g, feeds64))["out"]
    expectValues referenceTol "reference" reference.Shape reference.Data r
    let feeds32 = Dictionary<string, HostTensor>()
    for s in r.Sources do feeds32[s.Name] <- HostTensor(s.Dims, s.Values |> Array.map float32)
    for optimize in [ false; true ] do
        let fused = (GraphRunner.Run(g, feeds32, optimize = optimize))["out"]
        expectValues fusedTol $"fused (optimize {optimize})" fused.Shape (fused.Data |> Array.map float) r

[<Tests>]
let tests =
    testList "Runtime.Execution.ForwardOracle" [
        testList "hand-computed values" [
            for r in rows -> test $"{r.Op}: {r.What}" { run r }
        ]
        test "every op has a row" {
            let covered = rows |> List.map (fun r -> r.Op) |> set
            let missing = Enum.GetValues<OpKind>() |> Array.filter (fun op -> not (covered.Contains op))
            Expect.isEmpty missing "ops without a hand-computed case (add one to ForwardOracleTests.rows)"
        }
    ]
