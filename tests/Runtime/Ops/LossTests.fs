module Nn.Tests.Runtime.Ops.LossTests

open System.Collections.Generic
open Expecto
open Nn.Runtime
open Nn.Runtime.IR
open Nn.Runtime.Ops
open Nn.Runtime.Execution

let private sp = SourceSpan.None
let private n = Dim.Sym "n"
let private tensor (shape: int list) (xs: float list) = Tensor<float>.FromDoubles(Array.ofList shape, Array.ofList xs)

/// Builds `make b pred target` over Inputs `p` and `t` of the given shapes and evaluates it in float64.
let private run (pShape: Shape) (tShape: Shape) make (p: Tensor<float>) (t: Tensor<float>) =
    let b = GraphBuilder()
    let pred = b.Input("p", pShape, sp)
    let target = b.Input("t", tShape, sp)
    let loss: Node = make b pred target
    Expect.equal loss.Shape Shape.Scalar "a loss is a scalar"
    let g = b.Build([ KeyValuePair("loss", loss) ])
    (ReferenceInterpreter<float>.Run(g, readOnlyDict [ "p", p; "t", t ])["loss"]).Data[0]

let private close actual expected msg = Expect.floatClose Accuracy.veryHigh actual expected msg

let private p22 = tensor [ 2; 2 ] [ 0.5; 1.0; 2.0; -1.0 ]
let private t22 = tensor [ 2; 2 ] [ 0.0; 1.0; 1.0; 1.0 ]
let private s2 = Shape(n, Dim.Of 2)
let private s1 = Shape(n, Dim.Of 1)
let private s3 = Shape(n, Dim.Of 3)
let private sigmoid z = 1.0 / (1.0 + exp -z)
let private logSoftmax (row: float list) =
    let m = List.max row
    let lse = m + log (row |> List.sumBy (fun z -> exp (z - m)))
    row |> List.map (fun z -> z - lse)

[<Tests>]
let tests =
    testList "Runtime.Ops.Losses" [
        test "mse is the mean of squared differences" {
            // differences 0.5, 0, 1, -2
            close (run s2 s2 (fun b p t -> Losses.Mse(b, p, t, sp)) p22 t22) ((0.25 + 0.0 + 1.0 + 4.0) / 4.0) "mse"
        }
        test "mae is the mean of absolute differences" {
            close (run s2 s2 (fun b p t -> Losses.Mae(b, p, t, sp)) p22 t22) ((0.5 + 0.0 + 1.0 + 2.0) / 4.0) "mae"
        }
        test "huber is quadratic inside delta and linear outside" {
            let huber d = if abs d <= 1.0 then 0.5 * d * d else abs d - 0.5
            let expected = ([ 0.5; 0.0; 1.0; -2.0 ] |> List.sumBy huber) / 4.0
            close (run s2 s2 (fun b p t -> Losses.Huber(b, p, t, sp, 1.0)) p22 t22) expected "huber δ=1"
            let huber2 d = if abs d <= 1.5 then 0.5 * d * d else 1.5 * (abs d - 0.75)
            let expected2 = ([ 0.5; 0.0; 1.0; -2.0 ] |> List.sumBy huber2) / 4.0
            close (run s2 s2 (fun b p t -> Losses.Huber(b, p, t, sp, 1.5)) p22 t22) expected2 "huber δ=1.5"
        }
        test "mse accepts a target [n] for a prediction [n, 1]" {
            let v =
                run
                    s1
                    (Shape(n))
                    (fun b p t -> Losses.Mse(b, p, t, sp))
                    (tensor [ 2; 1 ] [ 1.0; 3.0 ])
                    (tensor [ 2 ] [ 0.0; 1.0 ])
            close v 2.5 "(1 + 4) / 2"
        }
        test "binary cross-entropy of probabilities matches the textbook formula" {
            let expected = -(log 0.9 + log (1.0 - 0.2)) / 2.0
            let v =
                run
                    s1
                    s1
                    (fun b p t -> Losses.BinaryCrossEntropy(b, p, t, sp))
                    (tensor [ 2; 1 ] [ 0.9; 0.2 ])
                    (tensor [ 2; 1 ] [ 1.0; 0.0 ])
            close v expected "bce"
        }
        test "binary cross-entropy of a sigmoid uses the logit and stays finite for large logits" {
            let bce z t = -(t * log (sigmoid z) + (1.0 - t) * log (1.0 - sigmoid z))
            let make (b: GraphBuilder) p t = Losses.BinaryCrossEntropy(b, b.Unary(OpKind.Sigmoid, p, sp), t, sp)
            let v = run s1 s1 make (tensor [ 2; 1 ] [ 0.0; 2.0 ]) (tensor [ 2; 1 ] [ 1.0; 0.0 ])
            close v ((bce 0.0 1.0 + bce 2.0 0.0) / 2.0) "bce through the logit"
            // sigmoid(60) rounds to 1 in float64, so the clamped formula would give -log(eps); the logit form gives
            // 60.
            let big = run s1 s1 make (tensor [ 1; 1 ] [ 60.0 ]) (tensor [ 1; 1 ] [ 0.0 ])
            close big 60.0 "softplus(60) - 0"
        }
        test "binary cross-entropy clamps probabilities of exactly 0 and 1" {
            let v =
                run
                    s1
                    s1
                    (fun b p t -> Losses.BinaryCrossEntropy(b, p, t, sp))
                    (tensor [ 1; 1 ] [ 1.0 ])
                    (tensor [ 1; 1 ] [ 0.0 ])
            Expect.isTrue (System.Double.IsFinite v) "finite"
            close v (-(log Losses.Eps)) "-log(eps)"
        }
        test "softmax cross-entropy with class indices [n], [n, 1] and a one-hot distribution agree" {
            let logits = tensor [ 2; 3 ] [ 1.0; 2.0; 3.0; 1.0; 1.0; 1.0 ]
            let expected = -((logSoftmax [ 1.0; 2.0; 3.0 ])[2] + (logSoftmax [ 1.0; 1.0; 1.0 ])[0]) / 2.0
            let make b p t = Losses.SoftmaxCrossEntropy(b, p, t, sp)
            close (run s3 (Shape(n)) make logits (tensor [ 2 ] [ 2.0; 0.0 ])) expected "indices [n]"
            close (run s3 s1 make logits (tensor [ 2; 1 ] [ 2.0; 0.0 ])) expected "indices [n, 1]"
            close (run s3 s3 make logits (tensor [ 2; 3 ] [ 0.0; 0.0; 1.0; 1.0; 0.0; 0.0 ])) expected "one-hot"
        }
        test "softmax cross-entropy with a soft distribution" {
            let logits = tensor [ 1; 3 ] [ 0.5; -1.0; 2.0 ]
            let ls = logSoftmax [ 0.5; -1.0; 2.0 ]
            let expected = -(0.2 * ls[0] + 0.3 * ls[1] + 0.5 * ls[2])
            close
                (run
                    s3
                    s3
                    (fun b p t -> Losses.SoftmaxCrossEntropy(b, p, t, sp))
                    logits
                    (tensor [ 1; 3 ] [ 0.2; 0.3; 0.5 ]))
                expected
                "soft"
        }
        test "cross-entropy of probabilities and of a softmax node" {
            let probs = tensor [ 2; 3 ] [ 0.2; 0.3; 0.5; 0.6; 0.3; 0.1 ]
            let expected = -(log 0.5 + log 0.6) / 2.0
            close
                (run s3 (Shape(n)) (fun b p t -> Losses.CrossEntropy(b, p, t, sp)) probs (tensor [ 2 ] [ 2.0; 0.0 ]))
                expected
                "probabilities"
            let logits = tensor [ 1; 3 ] [ 1.0; 2.0; 3.0 ]
            let make (b: GraphBuilder) p t = Losses.CrossEntropy(b, b.Softmax(OpKind.Softmax, p, -1, sp), t, sp)
            close
                (run s3 (Shape(n)) make logits (tensor [ 1 ] [ 1.0 ]))
                (-(logSoftmax [ 1.0; 2.0; 3.0 ])[1])
                "softmax node"
        }
        test "cross-entropy through a softmax uses its logits (no log of an underflowed 0)" {
            let b = GraphBuilder()
            let p = b.Softmax(OpKind.Softmax, b.Input("p", s3, sp), -1, sp)
            let loss = Losses.CrossEntropy(b, p, b.Input("t", Shape(n), sp), sp)
            let g = b.Build([ KeyValuePair("loss", loss) ])
            Expect.isTrue (g.Nodes |> Seq.exists (fun x -> x.Op = OpKind.LogSoftmax)) "a LogSoftmax node"
            Expect.isFalse (g.Nodes |> Seq.exists (fun x -> x.Op = OpKind.Log)) "no Log node"
            let v =
                (ReferenceInterpreter<float>.Run(
                    g,
                    readOnlyDict [ "p", tensor [ 1; 3 ] [ 0.0; 800.0; 0.0 ]; "t", tensor [ 1 ] [ 0.0 ] ]
                )["loss"]).Data[0]
            close v 800.0 "-logSoftmax = 800"
        }
        test "NN0210 messages" {
            let b = GraphBuilder()
            let p = b.Input("p", s1, sp)
            let t = b.Input("t", s3, sp)
            let ex = try Losses.Mse(b, p, t, sp) |> ignore; None with :? ShapeException as e -> Some e
            Expect.equal (ex |> Option.map (fun e -> e.Code)) (Some "NN0210") "code"
            Expect.equal
                ex.Value.Message
                "`mse` needs a target of the same shape, but the prediction is [n, 1] and the target is [n, 3]"
                "message"
            let p3 = b.Input("p3", s3, sp)
            let t2 = b.Input("t2", Shape(n, Dim.Of 2), sp)
            let ex2 =
                try Losses.SoftmaxCrossEntropy(b, p3, t2, sp) |> ignore; None with :? ShapeException as e -> Some e
            Expect.equal ex2.Value.Code "NN0210" "code"
            Expect.stringContains ex2.Value.Message "the prediction is [n, 3] and the target is [n, 2]" "both shapes"
        }
    ]
