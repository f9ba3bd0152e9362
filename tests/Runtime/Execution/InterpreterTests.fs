/// The reference interpreter on hand-computed values, against naive loops written here, and its errors.
module Nn.Tests.Runtime.Execution.InterpreterTests

open System
open System.Collections.Generic
open Expecto
open Nn.Runtime
open Nn.Runtime.IR
open Nn.Runtime.Execution
open Nn.Tests.TestUtil
open Nn.Tests.Runtime.Autodiff.GraphGen

let private at line = SourceSpan("t.nn", line, 3, line, 9)
let private t (shape: int[]) (data: float[]) = T64(shape, data)

/// Runs the single output `out` of a graph built by `make` from inputs with the given values.
let private run (inputs: (string * T64) list) (make: GraphBuilder -> Node list -> Node) =
    let b = GraphBuilder()
    let xs = inputs |> List.map (fun (name, v) -> b.Input(name, Shape.Of v.Shape, at 1))
    let g = b.Build([ KeyValuePair("out", make b xs) ])
    (Interp.Run(g, dict inputs |> Dictionary, RunOptions.Default)).["out"]

let private expectData (actual: T64) (shape: int[]) (data: float[]) what =
    Expect.equal actual.Shape shape (what + ": shape")
    Array.iteri2
        (fun i e a ->
            if abs (e - a) > 1e-12 * (1.0 + abs e) then failtestf "%s: element %d is %g, expected %g" what i a e)
        data
        actual.Data

let private randomT (rng: Random) (shape: int[]) =
    t shape (Array.init (T64.CountOf shape) (fun _ -> rng.NextDouble() * 2.0 - 1.0))

/// conv2d by its definition, written independently of the runtime.
let private naiveConv (x: T64) (k: T64) sh sw pt pl (oh: int) (ow: int) =
    let n, h, w, ci = x.Shape.[0], x.Shape.[1], x.Shape.[2], x.Shape.[3]
    let kh, kw, co = k.Shape.[0], k.Shape.[1], k.Shape.[3]
    t [| n; oh; ow; co |] [|
        for b in 0 .. n - 1 do
          for oy in 0 .. oh - 1 do
            for ox in 0 .. ow - 1 do
              for o in 0 .. co - 1 do
                let mutable s = 0.0
                for dy in 0 .. kh - 1 do
                  for dx in 0 .. kw - 1 do
                    let iy, ix = oy * sh + dy - pt, ox * sw + dx - pl
                    if iy >= 0 && iy < h && ix >= 0 && ix < w then
                      for c in 0 .. ci - 1 do s <- s + x.[b, iy, ix, c] * k.[dy, dx, c, o]
                yield s |]

/// Pooling by its definition with paddings (top, left, bottom, right) that the windows ignore (as Keras).
let private naivePool (x: T64) size stride (pads: int[]) isMax =
    let h, w = x.Shape.[1], x.Shape.[2]
    let oh, ow = (h + pads.[0] + pads.[2] - size) / stride + 1, (w + pads.[1] + pads.[3] - size) / stride + 1
    t [| x.Shape.[0]; oh; ow; x.Shape.[3] |] [|
        for b in 0 .. x.Shape.[0] - 1 do
          for oy in 0 .. oh - 1 do
            for ox in 0 .. ow - 1 do
              for c in 0 .. x.Shape.[3] - 1 do
                let win =
                    [ for dy in 0 .. size - 1 do
                        for dx in 0 .. size - 1 do
                          let iy, ix = oy * stride + dy - pads.[0], ox * stride + dx - pads.[1]
                          if iy >= 0 && iy < h && ix >= 0 && ix < w then yield x.[b, iy, ix, c] ]
                yield if isMax then List.max win else List.average win |]

let private dotT (a: T64) (b: T64) = Array.fold2 (fun s x y -> s + x * y) 0.0 a.Data b.Data

[<Tests>]
let tests =
    testList "Runtime.Execution.Interpreter" [
        test "broadcasting add of [2, 1] and [3]" {
            let r =
                run [ "a", t [| 2; 1 |] [| 1.; 2. |]; "b", t [| 3 |] [| 10.; 20.; 30. |] ] (fun b xs ->
                    b.Binary(OpKind.Add, xs.[0], xs.[1], at 2))
            expectData r [| 2; 3 |] [| 11.; 21.; 31.; 12.; 22.; 32. |] "add"
        }
        test "matmul, batched and with a shared right side" {
            let a = t [| 2; 2; 2 |] [| 1.; 2.; 3.; 4.; 5.; 6.; 7.; 8. |]
            let r = run [ "a", a; "w", t [| 2; 1 |] [| 1.; -1. |] ] (fun b xs -> b.MatMul(xs.[0], xs.[1], at 2))
            expectData r [| 2; 2; 1 |] [| -1.; -1.; -1.; -1. |] "shared"
            let r2 = run [ "a", a; "c", a ] (fun b xs -> b.MatMul(xs.[0], xs.[1], at 2))
            expectData r2 [| 2; 2; 2 |] [| 7.; 10.; 15.; 22.; 67.; 78.; 91.; 106. |] "batched"
        }
        test "transpose, slice, pad, concat" {
            let x = t [| 2; 3 |] [| 1.; 2.; 3.; 4.; 5.; 6. |]
            expectData (run [ "x", x ] (fun b xs -> b.Transpose(xs.[0], at 2))) [| 3; 2 |]
                [| 1.; 4.; 2.; 5.; 3.; 6. |] "transpose"
            expectData (run [ "x", x ] (fun b xs -> b.Slice(xs.[0], [| 0; 1 |], [| -1; 3 |], at 2))) [| 2; 2 |]
                [| 2.; 3.; 5.; 6. |] "slice"
            expectData (run [ "x", x ] (fun b xs -> b.Pad(xs.[0], [| 0; 1 |], [| 1; 0 |], at 2))) [| 3; 4 |]
                [| 0.; 1.; 2.; 3.; 0.; 4.; 5.; 6.; 0.; 0.; 0.; 0. |] "pad"
            expectData (run [ "x", x ] (fun b xs -> b.Concat([ xs.[0]; xs.[0] ], 1, at 2))) [| 2; 6 |]
                [| 1.; 2.; 3.; 1.; 2.; 3.; 4.; 5.; 6.; 4.; 5.; 6. |] "concat"
        }
        test "reductions with and without kept axes, argmax" {
            let x = t [| 2; 3 |] [| 1.; 5.; 3.; 4.; 2.; 6. |]
            expectData (run [ "x", x ] (fun b xs -> b.Reduce(OpKind.Sum, xs.[0], [| 1 |], true, at 2))) [| 2; 1 |]
                [| 9.; 12. |] "sum keep"
            expectData (run [ "x", x ] (fun b xs -> b.Reduce(OpKind.Mean, xs.[0], [| 0 |], false, at 2))) [| 3 |]
                [| 2.5; 3.5; 4.5 |] "mean"
            expectData (run [ "x", x ] (fun b xs -> b.Reduce(OpKind.ReduceMax, xs.[0], [||], false, at 2))) [||]
                [| 6. |] "max all"
            expectData (run [ "x", x ] (fun b xs -> b.Add(OpKind.ArgMax, [ xs.[0] ], OpAttrs(Axes = [| 1 |]), at 2)))
                [| 2; 1 |] [| 1.; 2. |] "argmax"
        }
        test "softmax and logSoftmax are stable for large inputs" {
            let x = t [| 1; 2 |] [| 1000.; 0. |]
            expectData (run [ "x", x ] (fun b xs -> b.Softmax(OpKind.LogSoftmax, xs.[0], -1, at 2))) [| 1; 2 |]
                [| 0.; -1000. |] "logSoftmax"
            let s = run [ "x", t [| 1; 3 |] [| 1.; 2.; 3. |] ] (fun b xs -> b.Softmax(OpKind.Softmax, xs.[0], 1, at 2))
            let e = [| 1.; 2.; 3. |] |> Array.map exp
            expectData s [| 1; 3 |] (e |> Array.map (fun v -> v / Array.sum e)) "softmax"
        }
        test "elementwise functions at hand-computed points" {
            let x = t [| 4 |] [| -800.; -1.; 0.5; 800. |]
            let un op = run [ "x", x ] (fun b xs -> b.Unary(op, xs.[0], at 2, 0.2))
            expectData (un OpKind.Softplus) [| 4 |] [| 0.; log (1. + exp -1.); log (1. + exp 0.5); 800. |] "softplus"
            expectData (un OpKind.Sigmoid) [| 4 |] [| 0.; 1. / (1. + exp 1.); 1. / (1. + exp -0.5); 1. |] "sigmoid"
            expectData (un OpKind.LeakyRelu) [| 4 |] [| -160.; -0.2; 0.5; 800. |] "leakyRelu"
            expectData (un OpKind.Elu) [| 4 |] [| -0.2; 0.2 * (exp -1. - 1.); 0.5; 800. |] "elu"
            expectData (un OpKind.Step) [| 4 |] [| 0.; 0.; 1.; 1. |] "step"
            let c = 0.5 * 0.5 * (1. + tanh (sqrt (2. / Math.PI) * (0.5 + 0.044715 * 0.125)))
            Expect.floatClose Accuracy.veryHigh (un OpKind.Gelu).Data.[2] c "gelu"
        }
        test "where and one-hot" {
            let r =
                run [ "c", t [| 3 |] [| 1.; 0.; 2. |]; "a", t [| 3 |] [| 1.; 2.; 3. |] ] (fun b xs ->
                    b.Where(xs.[0], xs.[1], b.Const(-1., at 2), at 2))
            expectData r [| 3 |] [| 1.; -1.; 3. |] "where"
            let o = run [ "l", t [| 3; 1 |] [| 2.; 0.; 1. |] ] (fun b xs -> b.OneHot(xs.[0], 3, at 2))
            expectData o [| 3; 3 |] [| 0.; 0.; 1.; 1.; 0.; 0.; 0.; 1.; 0. |] "oneHot"
        }
        testProperty "conv2d with strides and padding = naive loops; its gradients are its adjoints" (fun (seed: int) ->
            let rng = Random seed
            let x = randomT rng [| 2; 4 + rng.Next 3; 4 + rng.Next 3; 1 + rng.Next 2 |]
            let k = randomT rng [| 1 + rng.Next 3; 1 + rng.Next 3; x.Shape.[3]; 1 + rng.Next 2 |]
            let sh, sw, pads = 1 + rng.Next 2, 1 + rng.Next 2, Array.init 4 (fun _ -> rng.Next 2)
            let b = GraphBuilder()
            let xn, kn = b.Input("x", Shape.Of x.Shape, at 1), b.Input("k", Shape.Of k.Shape, at 1)
            let y = b.Conv2d(xn, kn, sh, sw, pads, at 2)
            let dyn = b.Input("dy", y.Shape, at 1)
            let gi = b.Add(OpKind.Conv2dGradInput, [ dyn; kn ], OpAttrs(Conv = y.Attrs.Conv, Target = xn.Shape), at 3)
            let gk = b.Add(OpKind.Conv2dGradKernel, [ xn; dyn ], OpAttrs(Conv = y.Attrs.Conv, Target = kn.Shape), at 3)
            let dy = randomT rng (y.Shape.Resolve(readOnlyDict []))
            let r =
                Interp.Run(
                    b.Build([ KeyValuePair("y", y); KeyValuePair("gi", gi); KeyValuePair("gk", gk) ]),
                    dict [ "x", x; "k", k; "dy", dy ] |> Dictionary
                )
            expectData r.["y"] dy.Shape (naiveConv x k sh sw pads.[0] pads.[1] dy.Shape.[1] dy.Shape.[2]).Data "conv"
            Expect.floatClose Accuracy.high (dotT r.["y"] dy) (dotT x r.["gi"]) "⟨conv(x,k), dy⟩ = ⟨x, gradInput(dy,k)⟩"
            Expect.floatClose
                Accuracy.high
                (dotT r.["y"] dy)
                (dotT k r.["gk"])
                "⟨conv(x,k), dy⟩ = ⟨k, gradKernel(x,dy)⟩")
        testProperty ("pooling with strides and padding = naive loops; avg-pool gradient is its adjoint; "
                      + "max-pool gradient routes to the maximum") (fun (seed: int) ->
            let rng = Random seed
            let x = randomT rng [| 1 + rng.Next 2; 3 + rng.Next 4; 3 + rng.Next 4; 1 + rng.Next 2 |]
            let size, stride = 1 + rng.Next 3, 1 + rng.Next 2
            let pads = Array.init 4 (fun _ -> rng.Next(size / 2 + 1))
            let b = GraphBuilder()
            let xn = b.Input("x", Shape.Of x.Shape, at 1)
            let mx, av =
                b.Pool(OpKind.MaxPool2d, xn, size, stride, pads, at 2),
                b.Pool(OpKind.AvgPool2d, xn, size, stride, pads, at 2)
            let dyn = b.Input("dy", mx.Shape, at 1)
            let ga = b.Add(OpKind.AvgPool2dGrad, [ dyn ], OpAttrs(Pool = mx.Attrs.Pool, Target = xn.Shape), at 3)
            let gm = b.Add(OpKind.MaxPool2dGrad, [ xn; dyn ], OpAttrs(Pool = mx.Attrs.Pool), at 3)
            let dy = randomT rng (mx.Shape.Resolve(readOnlyDict []))
            let r =
                Interp.Run(
                    b.Build(
                        [ KeyValuePair("mx", mx)
                          KeyValuePair("av", av)
                          KeyValuePair("ga", ga)
                          KeyValuePair("gm", gm) ]
                    ),
                    dict [ "x", x; "dy", dy ] |> Dictionary
                )
            expectData r.["mx"] dy.Shape (naivePool x size stride pads true).Data "max"
            expectData r.["av"] dy.Shape (naivePool x size stride pads false).Data "avg"
            Expect.floatClose Accuracy.high (dotT r.["av"] dy) (dotT x r.["ga"]) "⟨avg(x), dy⟩ = ⟨x, avgGrad(dy)⟩"
            // max-pool is linear in x along directions that keep the arg-max: ⟨max(x), dy⟩ = ⟨x, maxGrad(x, dy)⟩
            Expect.floatClose Accuracy.high (dotT r.["mx"] dy) (dotT x r.["gm"]) "⟨max(x), dy⟩ = ⟨x, maxGrad(x, dy)⟩")
        test "dropout masks depend only on (seed, step, stream) and drop about p" {
            let b = GraphBuilder()
            let x = b.Input("x", Shape.Of(100, 100), at 1)
            let m1, m2 = b.DropoutMask(x, 0.3, at 2), b.DropoutMask(x, 0.3, at 3)
            let g = b.Build([ KeyValuePair("m1", m1); KeyValuePair("m2", m2) ])
            let feeds = dict [ "x", T64([| 100; 100 |]) ] |> Dictionary
            let go seed step = Interp.Run(g, feeds, RunOptions(Seed = seed, Step = step))
            let a, a', c = go 1UL 0L, go 1UL 0L, go 1UL 1L
            Expect.equal a.["m1"].Data a'.["m1"].Data "same seed and step, same mask"
            Expect.notEqual a.["m1"].Data c.["m1"].Data "another step, another mask"
            Expect.notEqual a.["m1"].Data a.["m2"].Data "another stream, another mask"
            let dropped = a.["m1"].Data |> Array.filter ((=) 0.0) |> Array.length
            Expect.isTrue (dropped > 2700 && dropped < 3300) (sprintf "about 30%% dropped, got %d" dropped)
            Expect.isTrue
                (a.["m1"].Data |> Array.forall (fun v -> v = 0.0 || abs (v - 1.0 / 0.7) < 1e-12))
                "kept values are 1/(1-p)"
        }
        test "the finiteness check names the first node producing NaN and its line" {
            let b = GraphBuilder()
            let x = b.Input("x", Shape.Of 2, at 1)
            let l = b.Unary(OpKind.Log, x, at 7)
            let g = b.Build([ KeyValuePair("out", b.Unary(OpKind.Exp, l, at 8)) ])
            let feeds = dict [ "x", t [| 2 |] [| 1.; -1. |] ] |> Dictionary
            let e = Expect.throwsC (fun () -> Interp.Run(g, feeds, RunOptions(CheckFinite = true)) |> ignore) id
            match e with
            | :? NonFiniteException as e ->
                Expect.equal e.Op OpKind.Log "the op"
                expectSpan e.Span (at 7) "the user's line"
                Expect.equal (e.What, e.Index) ("NaN", 1) "what and where"
                Expect.stringStarts e.Message "t.nn(7,3): error NN0612" "rendered"
            | e -> failtestf "expected NonFiniteException, got %O" e
            Expect.isTrue (Double.IsNaN (Interp.Run(g, feeds)).["out"].Data.[1]) "without the check, NaN flows"
        }
        test "feed errors name the input" {
            let b = GraphBuilder()
            let x = b.Input("x", Shape(Dim.Sym "n", Dim.Of 3), at 1)
            let y = b.Input("y", Shape(Dim.Sym "n"), at 2)
            let g =
                b.Build(
                    [ KeyValuePair(
                          "out",
                          b.Binary(OpKind.Add, b.Reduce(OpKind.Sum, x, [| 1 |], false, at 3), y, at 3)
                      ) ]
                )
            let err feeds = (Expect.throwsC (fun () -> Interp.Run(g, Dictionary(dict feeds)) |> ignore) id).Message
            Expect.stringContains (err [ "x", T64([| 2; 3 |]) ]) "no value was given for the input `y`" "missing"
            Expect.stringContains
                (err [ "x", T64([| 2; 4 |]); "y", T64([| 2 |]) ])
                "`x` should have shape [n, 3] but was given [2, 4]"
                "fixed axis"
            Expect.stringContains
                (err [ "x", T64([| 2; 3 |]); "y", T64([| 5 |]) ])
                "(`n` is 2, from `x`)"
                "dimension variable"
            let ok = Interp.Run(g, Dictionary(dict [ "x", T64.Fill([| 4; 3 |], 1.0); "y", T64([| 4 |]) ]))
            expectData ok.["out"] [| 4 |] [| 3.; 3.; 3.; 3. |] "n bound to 4"
        }
        testProperty "float32 and float64 agree on random graphs" (fun (FsCheck.DoNotSize (s: int)) ->
            let c = gradCase defaults (s &&& 0xFFFFFF)
            let g = graphOf c
            let feeds = feedsFor g.Nodes s
            let r64 = Interp.Run(g, feeds, runOpts)
            let feeds32 = Dictionary<string, Tensor<float32>>()
            for kv in feeds do feeds32.[kv.Key] <- kv.Value.Cast<float32>()
            let r32 = ReferenceInterpreter<float32>.Run(g, feeds32, runOpts)
            for kv in r64 do
                let scale = 1.0 + (kv.Value.Data |> Array.sumBy abs)
                Array.iteri2
                    (fun i (a: float) (b: float32) ->
                        if abs (a - float b) > 1e-3 * scale then
                            failtestf "%s[%d]: float64 %g, float32 %g" kv.Key i a b)
                    kv.Value.Data
                    r32.[kv.Key].Data)
    ]
