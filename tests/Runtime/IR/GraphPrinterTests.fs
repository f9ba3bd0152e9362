/// The stable text dump (golden) and the Graphviz rendering.
module Nn.Tests.Runtime.IR.GraphPrinterTests

open System.Collections.Generic
open Expecto
open Nn.Runtime
open Nn.Runtime.IR

let private sp line col = SourceSpan("xor.nn", line, col, line, col + 4)

/// xor.nn's hidden layer and loss: sum((sigmoid(x @ w + b) − y)²)
let private xorGraph () =
    let b = GraphBuilder()
    let x = b.Input("x", Shape(Dim.Sym "n", Dim.Of 2), sp 3 5)
    let y = b.Input("y", Shape(Dim.Sym "n", Dim.Of 1), sp 4 5)
    let w = b.Param("dense1.w", Shape.Of(2, 1), InitSpec("glorot"), sp 10 5)
    let bias = b.Param("dense1.b", Shape.Of 1, InitSpec.Zeros, sp 10 5)
    let h = b.Unary(OpKind.Sigmoid, b.Binary(OpKind.Add, b.MatMul(x, w, sp 10 5), bias, sp 10 5), sp 11 5)
    let loss =
        b.Reduce(OpKind.Sum, b.Unary(OpKind.Square, b.Binary(OpKind.Sub, h, y, sp 12 5), sp 12 5), [||], false, sp 12 5)
    b.Build([ KeyValuePair("loss", loss) ])

[<Tests>]
let tests =
    testList "Runtime.IR.GraphPrinter" [
        test "golden text dump" {
            let expected =
                [ "%0 : [n, 2] = input x  # xor.nn(3,5)"
                  "%1 : [n, 1] = input y  # xor.nn(4,5)"
                  "%2 : [2, 1] = param dense1.w init glorot  # xor.nn(10,5)"
                  "%3 : [1] = param dense1.b init zeros  # xor.nn(10,5)"
                  "%4 : [n, 1] = matMul %0 %2  # xor.nn(10,5)"
                  "%5 : [n, 1] = add %4 %3  # xor.nn(10,5)"
                  "%6 : [n, 1] = sigmoid %5  # xor.nn(11,5)"
                  "%7 : [n, 1] = sub %6 %1  # xor.nn(12,5)"
                  "%8 : [n, 1] = square %7  # xor.nn(12,5)"
                  "%9 : [] = sum %8  # xor.nn(12,5)"
                  "out loss = %9"
                  "" ] |> String.concat "\n"
            Expect.equal (GraphPrinter.Text(xorGraph ())) expected "text"
        }
        test "constants and attributes print canonically" {
            let b = GraphBuilder()
            let x = b.Input("x", Shape.Of(2, 3), SourceSpan.None)
            let s =
                b.Reduce(
                    OpKind.Mean,
                    b.Binary(OpKind.Mul, x, b.Const(0.5, SourceSpan.None), SourceSpan.None),
                    [| -1 |],
                    true,
                    SourceSpan.None
                )
            let t = GraphPrinter.Text(b.Build([ KeyValuePair("m", s) ]))
            Expect.stringContains t "%1 : [] = const 0.5\n" "const"
            Expect.stringContains t "%3 : [2, 1] = mean %2 axes=1 keep\n" "reduction attributes, no span"
        }
        test "dot has one labelled vertex per node and one edge per operand" {
            let g = xorGraph ()
            let dot = GraphPrinter.Dot g
            Expect.stringStarts dot "digraph nn {" "header"
            Expect.stringContains dot "n4 [label=\"%4 matMul\\n[n, 1]\\nxor.nn(10,5)\"]" "matmul vertex"
            let edges = dot.Split('\n') |> Array.filter (fun l -> l.Contains " -> n") |> Array.length
            Expect.equal edges (g.Nodes |> Seq.sumBy (fun n -> n.Inputs.Count)) "edges"
            Expect.stringContains dot "n9 -> out_loss;" "output"
        }
    ]
