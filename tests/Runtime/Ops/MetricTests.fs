module Nn.Tests.Runtime.Ops.MetricTests

open System.Collections.Generic
open Expecto
open Nn.Runtime
open Nn.Runtime.IR
open Nn.Runtime.Ops
open Nn.Runtime.Execution

let private sp = SourceSpan.None
let private n = Dim.Sym "n"

let private accuracy (pShape: Shape) (tShape: Shape) pre (p: Tensor<float>) (t: Tensor<float>) =
    let b = GraphBuilder()
    let pred = pre b (b.Input("p", pShape, sp))
    let acc = Metrics.Accuracy(b, pred, b.Input("t", tShape, sp), sp)
    let g = b.Build([ KeyValuePair("acc", acc) ])
    (ReferenceInterpreter<float>.Run(g, readOnlyDict [ "p", p; "t", t ])["acc"]).Data[0]

let private id (_: GraphBuilder) (x: Node) = x
let private t shape xs = Tensor<float>.FromDoubles(Array.ofList shape, Array.ofList xs)

[<Tests>]
let tests =
    testList "Runtime.Ops.Metrics" [
        test "multi-class accuracy compares the arg-max with class indices [n] and [n, 1]" {
            let logits = t [ 4; 3 ] [ 0.1; 0.5; 0.2;  3.0; 1.0; 0.0;  0.0; 0.0; 1.0;  1.0; 2.0; 0.5 ]
            // arg-max: 1, 0, 2, 1
            Expect.equal
                (accuracy (Shape(n, Dim.Of 3)) (Shape(n)) id logits (t [ 4 ] [ 1.0; 0.0; 0.0; 1.0 ]))
                0.75
                "[n]"
            Expect.equal
                (accuracy (Shape(n, Dim.Of 3)) (Shape(n, Dim.Of 1)) id logits (t [ 4; 1 ] [ 1.0; 1.0; 0.0; 1.0 ]))
                0.5
                "[n, 1]"
        }
        test "multi-class accuracy against one-hot targets" {
            let logits = t [ 2; 3 ] [ 0.1; 0.5; 0.2; 3.0; 1.0; 0.0 ]
            Expect.equal
                (accuracy
                    (Shape(n, Dim.Of 3))
                    (Shape(n, Dim.Of 3))
                    id
                    logits
                    (t [ 2; 3 ] [ 0.0; 1.0; 0.0; 0.0; 0.0; 1.0 ]))
                0.5
                "one-hot"
        }
        test "binary accuracy thresholds probabilities at 0.5 and sigmoid logits at 0" {
            let probs = t [ 4; 1 ] [ 0.2; 0.5; 0.7; 0.49 ]
            Expect.equal
                (accuracy (Shape(n, Dim.Of 1)) (Shape(n, Dim.Of 1)) id probs (t [ 4; 1 ] [ 0.0; 1.0; 0.0; 0.0 ]))
                0.75
                "probabilities"
            let sigmoid (b: GraphBuilder) x = b.Unary(OpKind.Sigmoid, x, sp)
            let logits = t [ 3 ; 1 ] [ -3.0; 0.0; 2.0 ]
            Expect.equal
                (accuracy (Shape(n, Dim.Of 1)) (Shape(n)) sigmoid logits (t [ 3 ] [ 0.0; 1.0; 0.0 ]))
                (2.0 / 3.0)
                "through a sigmoid"
        }
    ]
