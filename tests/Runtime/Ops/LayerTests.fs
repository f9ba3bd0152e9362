module Nn.Tests.Runtime.Ops.LayerTests

open System.Collections.Generic
open Expecto
open Nn.Runtime
open Nn.Runtime.IR
open Nn.Runtime.Ops
open Nn.Runtime.Execution

let private sp = SourceSpan.None
let private n = Dim.Sym "n"
let private tensor (shape: int list) (xs: float list) = Tensor<float>.FromDoubles(Array.ofList shape, Array.ofList xs)

let private evalOutputs
    (b: GraphBuilder)
    (outs: (string * Node) list)
    (feeds: (string * Tensor<float>) list)
    seed
    step
    =
    let g = b.Build([ for k, v in outs -> KeyValuePair(k, v) ])
    ReferenceInterpreter<float>.Run(g, readOnlyDict feeds, RunOptions(Seed = seed, Step = step))

// x = [[1, 2], [3, 6], [5, 10]]: column means 3 and 6, biased variances 8/3 and 32/3.
let private x32 = tensor [ 3; 2 ] [ 1.0; 2.0; 3.0; 6.0; 5.0; 10.0 ]

let private batchNorm training =
    let b = GraphBuilder()
    let x = b.Input("x", Shape(n, Dim.Of 2), sp)
    let r = Layers.BatchNorm(b, x, "bn", training, sp, 0.9, 1e-5)
    b, r

let private bnFeeds =
    [ "x", x32
      "bn.gain", tensor [ 2 ] [ 2.0; 1.0 ]
      "bn.bias", tensor [ 2 ] [ 0.5; 0.0 ]
      "bn.mean", tensor [ 2 ] [ 1.0; -1.0 ]
      "bn.var", tensor [ 2 ] [ 4.0; 1.0 ] ]

[<Tests>]
let tests =
    testList "Runtime.Ops.Layers" [
        test "dropout is the identity (no node) in evaluation and with p = 0" {
            let b = GraphBuilder()
            let x = b.Input("x", Shape(n, Dim.Of 4), sp)
            Expect.isTrue (obj.ReferenceEquals(Layers.Dropout(b, x, 0.5, false, sp), x)) "evaluation"
            Expect.isTrue (obj.ReferenceEquals(Layers.Dropout(b, x, 0.0, true, sp), x)) "p = 0"
        }
        test "training dropout zeroes elements and scales the rest by 1/(1-p); masks change per step" {
            let b = GraphBuilder()
            let x = b.Input("x", Shape(n, Dim.Of 1000), sp)
            let y = Layers.Dropout(b, x, 0.25, true, sp)
            let ones = Tensor<float>.Fill([| 1; 1000 |], 1.0)
            let r1 = (evalOutputs b [ "y", y ] [ "x", ones ] 7UL 1L).["y"].Data
            let r2 = (evalOutputs b [ "y", y ] [ "x", ones ] 7UL 2L).["y"].Data
            Expect.all r1 (fun v -> v = 0.0 || abs (v - 1.0 / 0.75) < 1e-12) "0 or 4/3"
            let dropped = r1 |> Array.filter ((=) 0.0) |> Array.length
            Expect.isTrue (dropped > 180 && dropped < 320) $"about 250 of 1000 dropped, got {dropped}"
            Expect.notEqual r1 r2 "another step, another mask"
            let again = (evalOutputs b [ "y", y ] [ "x", ones ] 7UL 1L).["y"].Data
            Expect.equal again r1 "same seed and step, same mask"
        }
        test "dropout rejects p outside [0, 1)" {
            let b = GraphBuilder()
            let x = b.Input("x", Shape(n, Dim.Of 4), sp)
            Expect.throwsT<ShapeException> (fun () -> Layers.Dropout(b, x, 1.0, true, sp) |> ignore) "p = 1"
        }
        test "batchNorm in training normalizes with batch statistics and updates the running ones" {
            let b, r = batchNorm true
            Expect.equal [ for u in r.Updates -> u.Key.Name ] [ "bn.mean"; "bn.var" ] "two updates"
            let outs = [ "y", r.Output; "mean", r.Updates[0].Value; "var", r.Updates[1].Value ]
            let v = evalOutputs b outs bnFeeds 0UL 0L
            let s0, s1 = sqrt (8.0 / 3.0 + 1e-5), sqrt (32.0 / 3.0 + 1e-5)
            let expected = [ 2.0 * (1.0 - 3.0) / s0 + 0.5; (2.0 - 6.0) / s1; 0.5; 0.0; 2.0 * 2.0 / s0 + 0.5; 4.0 / s1 ]
            for a, e in Seq.zip v["y"].Data expected do Expect.floatClose Accuracy.veryHigh a e "y"
            for a, e in Seq.zip v["mean"].Data [ 0.9 + 0.3; -0.9 + 0.6 ] do
                Expect.floatClose Accuracy.veryHigh a e "0.9 running + 0.1 batch mean"
            for a, e in Seq.zip v["var"].Data [ 3.6 + 0.8 / 3.0; 0.9 + 3.2 / 3.0 ] do
                Expect.floatClose Accuracy.veryHigh a e "running var"
        }
        test "batchNorm in evaluation uses the running statistics and updates nothing" {
            let b, r = batchNorm false
            Expect.isEmpty r.Updates "no updates"
            let v = evalOutputs b [ "y", r.Output ] bnFeeds 0UL 0L
            let s0, s1 = sqrt (4.0 + 1e-5), sqrt (1.0 + 1e-5)
            let expected = [ for row in [ [ 1.0; 2.0 ]; [ 3.0; 6.0 ]; [ 5.0; 10.0 ] ] do
                               yield 2.0 * (row[0] - 1.0) / s0 + 0.5
                               yield (row[1] + 1.0) / s1 ]
            for a, e in Seq.zip v["y"].Data expected do Expect.floatClose Accuracy.veryHigh a e "y"
        }
        test "batchNorm over an image normalizes per channel (all axes but the last)" {
            let b = GraphBuilder()
            let x = b.Input("x", Shape(n, Dim.Of 2, Dim.Of 2, Dim.Of 3), sp)
            let r = Layers.BatchNorm(b, x, "bn", true, sp)
            Expect.equal r.Updates[0].Key.Shape (Shape.Of 3) "one statistic per channel"
            let feeds =
                [ "x", Tensor<float>.FromDoubles([| 2; 2; 2; 3 |], Array.init 24 (fun i -> float (i * i % 7)))
                  "bn.gain", Tensor<float>.Fill([| 3 |], 1.0); "bn.bias", Tensor<float>([| 3 |])
                  "bn.mean", Tensor<float>([| 3 |]); "bn.var", Tensor<float>.Fill([| 3 |], 1.0) ]
            let y = (evalOutputs b [ "y", r.Output ] feeds 0UL 0L).["y"].Data
            for c in 0..2 do
                let col = [| for i in 0..7 -> y[i * 3 + c] |]
                Expect.floatClose Accuracy.high (Array.average col) 0.0 $"channel {c} mean 0"
                Expect.floatClose
                    Accuracy.medium
                    (col |> Array.averageBy (fun v -> v * v))
                    1.0
                    $"channel {c} variance 1"
        }
        test "a forward context collects batchNorm's updates only in training" {
            let ctxT = ForwardContext(GraphBuilder(), true)
            let xT = ctxT.Builder.Input("x", Shape(n, Dim.Of 2), sp)
            Layers.BatchNorm(ctxT, xT, "bn", sp) |> ignore
            Expect.equal ctxT.StateUpdates.Count 2 "training"
            let ctxE = ForwardContext(GraphBuilder(), false)
            let xE = ctxE.Builder.Input("x", Shape(n, Dim.Of 2), sp)
            Layers.BatchNorm(ctxE, xE, "bn", sp) |> ignore
            Expect.equal ctxE.StateUpdates.Count 0 "evaluation"
        }
    ]
