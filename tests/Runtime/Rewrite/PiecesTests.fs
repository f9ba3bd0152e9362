/// The simplification rules for slices of values assembled from pieces (src/Runtime/Rewrite/Pieces.cs): what
/// `unstack`, `stack`, `lastStep` and their gradients leave. Values against indices computed by hand.
module Nn.Tests.Runtime.Rewrite.PiecesTests

open System.Collections.Generic
open Expecto
open Nn.Runtime
open Nn.Runtime.IR
open Nn.Runtime.Rewrite
open Nn.Tests.Runtime.Autodiff.GraphGen

let private at = SourceSpan("p.nn", 3, 1, 3, 9)

/// The optimised graph of output `out` = make b.
let private optimized (make: GraphBuilder -> Node) =
    let b = GraphBuilder()
    let out = make b
    Passes.Optimize(b.Build([ KeyValuePair("out", out) ]))

let private outLine (g: Graph) = GraphPrinter.Describe(g.Output "out")

/// The name of the output when it is a source (an Input), else its description.
let private outName (g: Graph) =
    let o = g.Output "out"
    if o.IsSource then o.Name else GraphPrinter.Describe o

/// x [2, 4, 3] with x[r, t, c] = 100·r + 10·t + c.
let private sequence () =
    T64([| 2; 4; 3 |], Array.init 24 (fun i -> float (100 * (i / 12) + 10 * (i / 3 % 4) + i % 3)))

[<Tests>]
let tests =
    testList "Runtime.Rewrite.Pieces" [
        test ("a slice of a concatenation: one whole operand is that operand, a range within one is its slice, "
              + "whole neighbours their concatenation") {
            let parts (b: GraphBuilder) = [ for i in 0..2 -> b.Input(sprintf "p%d" i, Shape.Of(2, 2 + i), at) ]
            let cut (b: GraphBuilder) lo hi = b.Slice(b.Concat(parts b, 1, at), [| 0; lo |], [| -1; hi |], at)
            Expect.equal (outName (optimized (fun b -> cut b 2 5))) "p1" "columns 2..4 are p1"
            Expect.equal (outLine (optimized (fun b -> cut b 3 5))) "slice %1 [0,1,-1,3]" "within p1"
            Expect.equal (outLine (optimized (fun b -> cut b 2 9))) "concat %1 %2 axes=1" "p1 and p2"
            Expect.equal (outLine (optimized (fun b -> cut b 1 3))) "slice %3 [0,1,-1,3]" "across p0 and p1: kept"
        }
        test ("a slice of zero padding: exactly the operand is the operand, only padding a zero constant, "
              + "part of both is kept") {
            let padded (b: GraphBuilder) = b.Pad(b.Input("x", Shape.Of(2, 3), at), [| 0; 4 |], [| 0; 1 |], at)
            let cut lo hi = optimized (fun b -> b.Slice(padded b, [| 0; lo |], [| -1; hi |], at))
            Expect.equal (outName (cut 4 7)) "x" "the operand"
            Expect.equal (outLine (cut 1 3)) "const 0" "before it"
            Expect.equal (cut 1 3 |> fun g -> (g.Output "out").Shape) (Shape.Of(2, 2)) "of the slice's shape"
            Expect.equal (outLine (cut 7 8)) "const 0" "after it"
            Expect.equal (outLine (cut 3 6)) "slice %1 [0,3,-1,6]" "across: kept"
        }
        test "slicing and padding that change nothing disappear" {
            let x (b: GraphBuilder) = b.Input("x", Shape.Of(2, 3), at)
            Expect.equal (outName (optimized (fun b -> b.Slice(x b, [| 0; 0 |], [| -1; 3 |], at)))) "x" "slice"
            Expect.equal (outName (optimized (fun b -> b.Pad(x b, [| 0; 0 |], [| 0; 0 |], at)))) "x" "pad"
        }
        test "a time step reshaped to [n, f] is a column block of the sequence as [n, t·f], with the same values" {
            let b = GraphBuilder()
            let x = b.Input("x", Shape.Of(2, 4, 3), at)
            let step = b.Reshape(b.Slice(x, [| 0; 2; 0 |], [| -1; 3; -1 |], at), Shape.Of(2, 3), at)
            let g = b.Build([ KeyValuePair("out", step) ])
            let o = Passes.Optimize g
            Expect.equal (outLine o) "slice %1 [0,6,-1,9]" "columns 6..8"
            Expect.equal (GraphPrinter.Describe(o.Output("out").Inputs[0])) "reshape %0 to [2, 12]" "of x as [2, 12]"
            let feeds = Dictionary(dict [ "x", sequence () ])
            let expected = [| for r in 0..1 do for c in 0..2 -> float (100 * r + 20 + c) |]
            Expect.equal (Interp.Run(o, feeds).["out"].Data) expected "x[r, 2, c]"
            Expect.equal (Interp.Run(g, feeds).["out"].Data) expected "as before"
        }
        test "stack then the last step is the last piece itself" {
            let b = GraphBuilder()
            let hs = [ for t in 0..3 -> b.Reshape(b.Input(sprintf "h%d" t, Shape.Of(2, 3), at), Shape.Of(2, 1, 3), at) ]
            let last = b.Reshape(b.Slice(b.Concat(hs, 1, at), [| 0; 3; 0 |], [| -1; 4; -1 |], at), Shape.Of(2, 3), at)
            Expect.equal (outName (Passes.Optimize(b.Build([ KeyValuePair("out", last) ])))) "h3" "h3"
        }
    ]
