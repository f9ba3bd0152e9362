module Nn.Tests.Runtime.Training.OptimizerTests

open System.Collections.Generic
open Expecto
open Nn.Runtime
open Nn.Runtime.IR
open Nn.Runtime.Execution
open Nn.Runtime.Training

let private sp = SourceSpan.None
let private p0 = [| 1.0; -2.0 |]
/// The gradients fed at steps 1, 2, 3 (fixed, so the references need no model).
let private grads = [ [| 0.5; -1.0 |]; [| 0.25; 2.0 |]; [| -1.0; 0.0 |] ]
let private lr = 0.1

/// Runs three optimizer steps in the graph (float64) and returns the parameter after each one.
let private graphSteps (spec: OptimizerSpec) =
    let b = GraphBuilder()
    let p = b.Param("w", Shape.Of 2, InitSpec.Zeros, sp)
    let g = b.Input("g", Shape.Of 2, sp)
    let lrIn = b.Input("lr", Shape.Scalar, sp)
    let t = b.Input("t", Shape.Scalar, sp)
    let upd = Optimizers.Apply(b, [| KeyValuePair(p, g) |], spec, lrIn, t, sp)
    let outs =
        Seq.append upd.Params upd.States
        |> Seq.map (fun kv -> KeyValuePair("new:" + kv.Key.Name, kv.Value))
        |> Array.ofSeq
    let graph = b.Build outs
    let values = Dictionary<string, Tensor<float>>()
    values["w"] <- Tensor<float>.FromDoubles([| 2 |], p0)
    for s in graph.States do
        let dims = s.Shape.Resolve(Dictionary<string, int>())
        let start = if s.Attrs.Init = InitSpec.Ones then 1.0 else 0.0
        values[s.Name] <- Tensor<float>.FromDoubles(dims, Array.create (Array.fold (*) 1 dims) start)
    [ for step, gk in List.indexed grads do
        values["g"] <- Tensor<float>.FromDoubles([| 2 |], gk)
        values["lr"] <- Tensor<float>.Scalar lr
        values["t"] <- Tensor<float>.Scalar(float (step + 1))
        let r = ReferenceInterpreter<float>.Run(graph, values)
        for kv in r do values[kv.Key.Substring 4] <- kv.Value
        yield values["w"].ToDoubles() ]

/// Applies a per-element reference update rule (written from the PyTorch/Keras documentation) three times.
/// `rule` gets (t, p, g, state) and returns (new p, new state).
let private referenceSteps (rule: int -> float -> float -> float list -> float * float list) (init: float list) =
    let mutable p = Array.copy p0
    let mutable st = Array.init 2 (fun _ -> init)
    [ for step, gk in List.indexed grads do
        for i in 0..1 do
            let np, ns = rule (step + 1) p[i] gk[i] st[i]
            p[i] <- np
            st[i] <- ns
        yield Array.copy p ]

let private agree (actual: float[] list) (expected: float[] list) =
    for step, (a, e) in List.indexed (List.zip actual expected) do
        for i in 0..1 do
            Expect.floatClose Accuracy.veryHigh a[i] e[i] $"step {step + 1}, element {i}"

[<Tests>]
let tests =
    testList "Runtime.Training.Optimizers" [
        test "sgd without momentum: three steps by hand" {
            // w = w - 0.1 g: 1 → 0.95 → 0.925 → 1.025; -2 → -1.9 → -2.1 → -2.1
            agree
                (graphSteps (OptimizerSpec(Kind = OptimizerKind.Sgd, Lr = lr)))
                [ [| 0.95; -1.9 |]; [| 0.925; -2.1 |]; [| 1.025; -2.1 |] ]
        }
        test "sgd with momentum 0.9 (PyTorch: b = 0.9b + g, w -= lr b): three steps by hand" {
            // element 0: b = 0.5, 0.7, -0.37; w = 0.95, 0.88, 0.917
            // element 1: b = -1, 1.1, 0.99;    w = -1.9, -2.01, -2.109
            agree (graphSteps (OptimizerSpec(Kind = OptimizerKind.Sgd, Lr = lr, Momentum = 0.9)))
                [ [| 0.95; -1.9 |]; [| 0.88; -2.01 |]; [| 0.917; -2.109 |] ]
        }
        test "sgd nesterov (w -= lr (g + 0.9 b)) matches the reference" {
            let rule _ p g (st: float list) =
                let b = 0.9 * st[0] + g
                p - lr * (g + 0.9 * b), [ b ]
            agree
                (graphSteps (OptimizerSpec(Kind = OptimizerKind.Sgd, Lr = lr, Momentum = 0.9, Nesterov = true)))
                (referenceSteps rule [ 0.0 ])
        }
        test "sgd nesterov first step by hand" {
            // b = 0.5; w = 1 - 0.1 (0.5 + 0.45) = 0.905
            let first =
                graphSteps (OptimizerSpec(Kind = OptimizerKind.Sgd, Lr = lr, Momentum = 0.9, Nesterov = true))
                |> List.head
            Expect.floatClose Accuracy.veryHigh first[0] 0.905 "w after one step"
        }
        test "sgd with coupled weight decay adds wd·w to the gradient" {
            let rule _ p g _ = p - lr * (g + 0.01 * p), []
            agree
                (graphSteps (OptimizerSpec(Kind = OptimizerKind.Sgd, Lr = lr, WeightDecay = 0.01)))
                (referenceSteps rule [])
        }
        test "adam matches the bias-corrected reference; the first step moves each weight by lr" {
            let rule t p g (st: float list) =
                let m = 0.9 * st[0] + 0.1 * g
                let v = 0.999 * st[1] + 0.001 * g * g
                let mh = m / (1.0 - 0.9 ** float t)
                let vh = v / (1.0 - 0.999 ** float t)
                p - lr * mh / (sqrt vh + 1e-8), [ m; v ]
            let actual = graphSteps (OptimizerSpec(Kind = OptimizerKind.Adam, Lr = lr))
            agree actual (referenceSteps rule [ 0.0; 0.0 ])
            Expect.floatClose Accuracy.high actual.Head[0] 0.9 "1 - lr·sign(g)"
            Expect.floatClose Accuracy.high actual.Head[1] -1.9 "-2 - lr·sign(g)"
        }
        test "adamW decays the weights decoupled from the moments" {
            let rule t p g (st: float list) =
                let m = 0.9 * st[0] + 0.1 * g
                let v = 0.999 * st[1] + 0.001 * g * g
                let mh = m / (1.0 - 0.9 ** float t)
                let vh = v / (1.0 - 0.999 ** float t)
                p - lr * (mh / (sqrt vh + 1e-8) + 0.05 * p), [ m; v ]
            agree
                (graphSteps (OptimizerSpec(Kind = OptimizerKind.AdamW, Lr = lr, WeightDecay = 0.05)))
                (referenceSteps rule [ 0.0; 0.0 ])
        }
        test "adamW's default weight decay is 1e-2" {
            let spec = OptimizerSpec(Kind = OptimizerKind.AdamW)
            Expect.equal spec.EffectiveWeightDecay 1e-2 "adamW"
            Expect.equal (OptimizerSpec(Kind = OptimizerKind.Adam)).EffectiveWeightDecay 0.0 "adam"
            Expect.equal spec.EffectiveLr 1e-3 "lr"
            Expect.equal spec.EffectiveEps 1e-8 "eps"
        }
        test "rmsprop (rho 0.9, eps 1e-7) matches the reference" {
            let rule _ p g (st: float list) =
                let v = 0.9 * st[0] + 0.1 * g * g
                p - lr * g / (sqrt v + 1e-7), [ v ]
            agree (graphSteps (OptimizerSpec(Kind = OptimizerKind.RmsProp, Lr = lr))) (referenceSteps rule [ 0.0 ])
        }
        test "rmsprop with momentum matches the reference" {
            let rule _ p g (st: float list) =
                let v = 0.9 * st[0] + 0.1 * g * g
                let b = 0.5 * st[1] + g / (sqrt v + 1e-7)
                p - lr * b, [ v; b ]
            agree
                (graphSteps (OptimizerSpec(Kind = OptimizerKind.RmsProp, Lr = lr, Momentum = 0.5)))
                (referenceSteps rule [ 0.0; 0.0 ])
        }
        test "adagrad (accumulator from 0, eps 1e-10) matches the reference" {
            let rule _ p g (st: float list) =
                let s = st[0] + g * g
                p - lr * g / (sqrt s + 1e-10), [ s ]
            agree (graphSteps (OptimizerSpec(Kind = OptimizerKind.Adagrad, Lr = lr))) (referenceSteps rule [ 0.0 ])
        }
        test "nadam matches PyTorch's NAdam written out in float64 (mu schedule, mu product, two terms)" {
            // torch.optim.NAdam, momentum_decay 4e-3, the formulas of its documentation
            let mu t = 0.9 * (1.0 - 0.5 * 0.96 ** (float t * 4e-3))
            let rule t p g (st: float list) =
                let product = st[2] * mu t
                let m = 0.9 * st[0] + 0.1 * g
                let v = 0.999 * st[1] + 0.001 * g * g
                let denom = sqrt (v / (1.0 - 0.999 ** float t)) + 1e-8
                let p' =
                    p - lr * (1.0 - mu t) / (1.0 - product) * g / denom
                    - lr * mu (t + 1) / (1.0 - product * mu (t + 1)) * m / denom
                p', [ m; v; product ]
            let actual = graphSteps (OptimizerSpec(Kind = OptimizerKind.Nadam, Lr = lr))
            agree actual (referenceSteps rule [ 0.0; 0.0; 1.0 ])
            // the first step by hand: mu1 = 0.9 (1 - 0.5·0.96^0.004) ≈ 0.450073, mu2 ≈ 0.450147, the terms sum to
            // (1 - mu1)/(1 - mu1) + mu2·0.1/(1 - mu1·mu2) ≈ 1.056452, so w moves by lr·1.056452 against sign(g)
            let mu1, mu2 = mu 1, mu 2
            let first = 1.0 + mu2 * 0.1 / (1.0 - mu1 * mu2)
            Expect.floatClose Accuracy.high actual.Head[0] (1.0 - lr * first) "first step, element 0"
            Expect.isTrue (abs (first - 1.056452) < 1e-6) "the momentum term's weight after one step"
        }
        test "nadam's defaults are PyTorch's (lr 2e-3, eps 1e-8, no weight decay)" {
            let spec = OptimizerSpec(Kind = OptimizerKind.Nadam)
            Expect.equal spec.EffectiveLr 2e-3 "lr"
            Expect.equal spec.EffectiveEps 1e-8 "eps"
            Expect.equal spec.EffectiveWeightDecay 0.0 "weight decay"
            Expect.equal (OptimizerKind.Find "nadam") OptimizerKind.Nadam "found by name"
        }
        test "optimizer state is named after the parameter" {
            let b = GraphBuilder()
            let p = b.Param("dense1.w", Shape.Of 2, InitSpec.Zeros, sp)
            let upd =
                Optimizers.Apply(
                    b,
                    [| KeyValuePair(p, b.Input("g", Shape.Of 2, sp)) |],
                    OptimizerSpec(Kind = OptimizerKind.Adam),
                    b.Input("lr", Shape.Scalar, sp),
                    b.Input("t", Shape.Scalar, sp),
                    sp
                )
            Expect.equal [ for kv in upd.States -> kv.Key.Name ] [ "dense1.w.m"; "dense1.w.v" ] "state names"
        }
        test "bad hyper-parameters are rejected naming the field" {
            Expect.throwsC (fun () -> OptimizerSpec(Kind = OptimizerKind.Sgd, Nesterov = true).Validate())
                (fun e -> Expect.stringContains e.Message "nesterov" "field")
            Expect.isNull (OptimizerKind.Find "lbfgs") "an unknown optimizer has no kind"
            Expect.throwsC (fun () -> OptimizerSpec(Kind = null).Validate())
                (fun e -> Expect.stringContains e.Message "Kind" "kind")
        }
    ]
