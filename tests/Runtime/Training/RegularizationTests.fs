module Nn.Tests.Runtime.Training.RegularizationTests

open System.Collections.Generic
open Expecto
open Nn.Runtime
open Nn.Runtime.IR
open Nn.Runtime.Execution
open Nn.Runtime.Training

let private sp = SourceSpan.None
let private t shape xs = Tensor<float>.FromDoubles(Array.ofList shape, Array.ofList xs)

[<Tests>]
let tests =
    testList "Runtime.Training.Regularization" [
        test "l1 and l2 penalties are added for weights (2+ axes) only" {
            let b = GraphBuilder()
            let w = b.Param("w", Shape.Of(2, 2), InitSpec.Zeros, sp)
            let bias = b.Param("b", Shape.Of 2, InitSpec.Zeros, sp)
            let loss = b.Input("loss", Shape.Scalar, sp)
            let total = Regularization.AddPenalty(b, loss, [ w; bias ], RegularizationSpec(L1 = 0.1, L2 = 0.01), sp)
            let g = b.Build([ KeyValuePair("total", total) ])
            let v =
                ReferenceInterpreter<float>.Run(
                    g,
                    readOnlyDict
                        [ "w", t [ 2; 2 ] [ 1.0; -2.0; 3.0; 0.5 ]
                          "b", t [ 2 ] [ 100.0; 100.0 ]
                          "loss", t [] [ 1.0 ] ]
                )
            Expect.floatClose
                Accuracy.veryHigh
                (v["total"].Data[0])
                (1.0 + 0.1 * 6.5 + 0.01 * (1.0 + 4.0 + 9.0 + 0.25))
                "1 + l1·Σ|w| + l2·Σw²"
            Expect.isTrue
                (obj.ReferenceEquals(Regularization.AddPenalty(b, loss, [ w ], RegularizationSpec.None, sp), loss))
                "none: the loss itself"
        }
        test "clipping by value clamps, by global norm rescales all gradients together" {
            let b = GraphBuilder()
            let p1 = b.Param("p1", Shape.Of 2, InitSpec.Zeros, sp)
            let p2 = b.Param("p2", Shape.Of 1, InitSpec.Zeros, sp)
            let g1 = b.Input("g1", Shape.Of 2, sp)
            let g2 = b.Input("g2", Shape.Of 1, sp)
            let grads = [| KeyValuePair(p1, g1); KeyValuePair(p2, g2) |]
            let byNorm = Regularization.Clip(b, grads, ClipSpec(Norm = 1.0), sp)
            let byValue = Regularization.Clip(b, grads, ClipSpec(Value = 2.5), sp)
            let g = b.Build([ KeyValuePair("n1", byNorm[0].Value); KeyValuePair("n2", byNorm[1].Value)
                              KeyValuePair("v1", byValue[0].Value); KeyValuePair("v2", byValue[1].Value) ])
            let v =
                ReferenceInterpreter<float>.Run(g, readOnlyDict [ "g1", t [ 2 ] [ 3.0; 0.0 ]; "g2", t [ 1 ] [ -4.0 ] ])
            let s = 1.0 / (5.0 + 1e-6)
            for a, e in Seq.zip (Array.append v["n1"].Data v["n2"].Data) [ 3.0 * s; 0.0; -4.0 * s ] do
                Expect.floatClose Accuracy.veryHigh a e "norm 5 → 1"
            Expect.sequenceEqual (Array.append v["v1"].Data v["v2"].Data) [| 2.5; 0.0; -2.5 |] "clamped"
            let small =
                ReferenceInterpreter<float>.Run(g, readOnlyDict [ "g1", t [ 2 ] [ 0.3; 0.0 ]; "g2", t [ 1 ] [ -0.4 ] ])
            Expect.sequenceEqual
                (Array.append small["n1"].Data small["n2"].Data)
                [| 0.3; 0.0; -0.4 |]
                "norm below 1: unchanged"
        }
    ]
