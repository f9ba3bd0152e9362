/// Which values a split fused loop stores with non-temporal stores (StreamedStores): a large value read only as the
/// left operand of products, on two threads or more.
module Nn.Tests.Runtime.Engine.Lowering.StreamedStoresTests

open System.Collections.Generic
open Expecto
open Nn.Runtime
open Nn.Runtime.IR
open Nn.Runtime.Engine.Lowering
open Nn.Runtime.Engine.Planning

let private sp = SourceSpan.None

/// Whether the scaled input s = x / 255 of a graph built by `body` from x [n, 784], s and a weight w [784, 256]
/// streams, the plan bound at batch `n` on `threads` threads.
let private streams n threads (body: GraphBuilder -> Node -> Node -> (string * Node) list) =
    let b = GraphBuilder()
    let x = b.Input("x", Shape(Dim.Sym "n", Dim.Of 784), sp)
    let s = b.Binary(OpKind.Div, x, b.Const(255.0, sp), sp)
    let w = b.Input("w", Shape.Of(784, 256), sp)
    let plan = Planner.Build(b.Build [ for name, v in body b s w -> KeyValuePair(name, v) ])
    let dims = readOnlyDict [ "n", n ]
    let counts = plan.Graph.Nodes |> Seq.map (fun v -> v.Shape.Count dims) |> Array.ofSeq
    (StreamedStores.Of(plan, counts, threads))[s.Id]

[<Tests>]
let tests =
    testList "Runtime.Engine.Lowering.StreamedStores" [
        test "pixels / 255 read as A by products (x·w, and xᵀ·y) stream on two threads" {
            Expect.isTrue (streams 64 2 (fun b s w -> [ "y", b.MatMul(s, w, sp) ])) "s @ w"
            Expect.isTrue
                (streams 64 2 (fun b s w ->
                    let y = b.MatMul(s, w, sp)
                    [ "y", y; "g", b.MatMul(b.Transpose(s, sp, [| 1; 0 |]), y, sp) ]))
                "s @ w and sᵀ @ y"
        }
        test "nothing streams on one thread" {
            Expect.isFalse (streams 64 1 (fun b s w -> [ "y", b.MatMul(s, w, sp) ])) "one thread"
        }
        test "a value under 32,768 floats does not stream" {
            Expect.isFalse (streams 41 2 (fun b s w -> [ "y", b.MatMul(s, w, sp) ])) "41 rows: 32,144 floats"
            Expect.isTrue (streams 42 2 (fun b s w -> [ "y", b.MatMul(s, w, sp) ])) "42 rows: 32,928 floats"
        }
        test "a value read from memory by anything but a product's A, or an output, does not stream" {
            Expect.isFalse
                (streams 64 2 (fun b s w ->
                    [ "y", b.MatMul(b.Transpose(w, sp, [| 1; 0 |]), b.Transpose(s, sp, [| 1; 0 |]), sp) ]))
                "as B"
            Expect.isFalse
                (streams 64 2 (fun b s w ->
                    [ "y", b.MatMul(s, w, sp); "t", b.Reduce(OpKind.Sum, s, [| 0; 1 |], false, sp) ]))
                "also read by a reduction"
            // an element-wise use joins the loop that computes s (from its register, not from memory): s still streams
            Expect.isTrue
                (streams 64 2 (fun b s w -> [ "y", b.MatMul(s, w, sp); "t", b.Unary(OpKind.Tanh, s, sp) ]))
                "also used in its own loop"
            Expect.isFalse (streams 64 2 (fun b s w -> [ "y", b.MatMul(s, w, sp); "s", s ])) "a graph output"
        }
    ]
