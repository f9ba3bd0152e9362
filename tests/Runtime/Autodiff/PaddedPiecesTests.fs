/// The gradient of a value cut into pieces (src/Runtime/Autodiff/PaddedPieces.cs): the padded adjoints of its slices
/// joined into one concatenation where they meet end to end, added where they overlap; values against the gradient
/// written by hand.
module Nn.Tests.Runtime.Autodiff.PaddedPiecesTests

open System.Collections.Generic
open Expecto
open Nn.Runtime
open Nn.Runtime.IR
open Nn.Runtime.Autodiff
open Nn.Tests.Runtime.Autodiff.GraphGen

let private at = SourceSpan("g.nn", 2, 1, 2, 9)

/// f = Σ over the pieces [lo, hi) of axis 1 of x [2, 5, 3] of (k + 1)·sum(piece k); its gradient graph (not
/// simplified) and the gradient's values at x = 0 (f is linear).
let private gradientOf (pieces: (int * int) list) =
    let b = GraphBuilder()
    let x = b.Param("x", Shape.Of(2, 5, 3), InitSpec.Zeros, at)
    let terms =
        pieces
        |> List.mapi (fun k (lo, hi) ->
            let piece = b.Slice(x, [| 0; lo; 0 |], [| -1; hi; -1 |], at)
            b.Binary(OpKind.Mul, b.Reduce(OpKind.Sum, piece, [||], false, at), b.Const(float (k + 1), at), at))
    let f = terms |> List.reduce (fun a c -> b.Binary(OpKind.Add, a, c, at))
    let g = (Backward.Gradients(b, f, [| x |])).[0]
    let graph = b.Build([ KeyValuePair("g", g) ])
    let feeds = Dictionary(dict [ "x", T64([| 2; 5; 3 |], Array.zeroCreate 30) ])
    graph, g, Interp.Run(graph, feeds).["g"].Data

/// The gradient written by hand: element [r, t, c] is the sum of k + 1 over the pieces holding step t.
let private expected (pieces: (int * int) list) =
    [| for _ in 0..1 do
           for t in 0..4 do
               for _ in 0..2 ->
                   pieces
                   |> List.mapi (fun k (lo, hi) -> if lo <= t && t < hi then float (k + 1) else 0.0)
                   |> List.sum |]

/// How many nodes of the op the gradient uses (the builder also keeps the padded pieces the join replaced).
let private count op (g: Graph) = (Rewrite.DeadNodes.Run g).Nodes |> Seq.filter (fun n -> n.Op = op) |> Seq.length

[<Tests>]
let tests =
    testList "Runtime.Autodiff.PaddedPieces" [
        test "the time steps of a sequence get one concatenation as their gradient, no add of padded steps" {
            let steps = [ for t in 0..4 -> t, t + 1 ]
            let graph, g, values = gradientOf steps
            Expect.equal values (expected steps) "step t has gradient t + 1"
            Expect.equal g.Op OpKind.Concat "the gradient is the concatenation"
            Expect.equal (count OpKind.Pad graph) 0 "no padding left"
            Expect.equal (count OpKind.Add graph) 0 "no add"
        }
        test "the order the pieces come in does not matter; a run that does not cover the axis is padded once" {
            let pieces = [ 3, 4; 1, 2; 2, 3 ]
            let graph, g, values = gradientOf pieces
            Expect.equal values (expected pieces) "steps 1..3"
            Expect.equal (g.Op, g.Inputs[0].Op) (OpKind.Pad, OpKind.Concat) "one pad of one concatenation"
            Expect.equal (count OpKind.Pad graph) 1 "one pad"
        }
        test "runs apart are padded and added; overlapping pieces are added as they are" {
            let apart = [ 0, 1; 1, 2; 3, 5 ]
            let graph, _, values = gradientOf apart
            Expect.equal values (expected apart) "two runs"
            Expect.equal (count OpKind.Concat graph) 1 "steps 0 and 1 joined"
            Expect.equal (count OpKind.Pad graph) 2 "each run padded once"
            let overlapping = [ 0, 3; 2, 5 ]
            let graph, _, values = gradientOf overlapping
            Expect.equal values (expected overlapping) "step 2 counts both"
            Expect.equal (count OpKind.Concat graph) 0 "nothing joined"
        }
    ]
