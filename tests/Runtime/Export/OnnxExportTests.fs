module Nn.Tests.Runtime.Export.OnnxExportTests

open System.Collections.Generic
open Expecto
open Nn.Runtime
open Nn.Runtime.IR
open Nn.Runtime.Data
open Nn.Runtime.Export

let private at = SourceSpan("g.nn", 3, 5, 3, 20)
let private out (n: Node) = [ KeyValuePair("output", n) ]
let private noValues = Dictionary<string, HostTensor>() :> IReadOnlyDictionary<_, _>

let private exportError (g: Graph) (opset: int) =
    try
        OnnxExport.ToBytes(g, noValues, [ "x" ], "g", opset) |> ignore
        failtest "exported"
    with :? NnRuntimeException as e -> e

[<Tests>]
let tests =
    testList "Runtime.Export.OnnxExport" [
        test "an op without an export (scatterAdd, a gradient) is NN0720 naming the op at its node's span" {
            let b = GraphBuilder()
            let g = b.Input("x", Shape(Dim.Sym "n", Dim.Of 2), at)
            let ids = b.Input("ids", Shape(Dim.Sym "n"), at)
            let e = exportError (b.Build(out (b.ScatterAdd(g, ids, Shape.Of(5, 2), at)))) 17
            Expect.equal e.Code "NN0720" "code"
            Expect.equal (e.Span.ToString()) (at.ToString()) "span"
            Expect.stringContains e.Description "`ScatterAdd` cannot be exported" "names the op"
        }
        test "an opset outside 17..21 is NN0721" {
            let b = GraphBuilder()
            let x = b.Input("x", Shape(Dim.Sym "n", Dim.Of 2), at)
            let e = exportError (b.Build(out (b.Unary(OpKind.Relu, x, at)))) 12
            Expect.equal e.Code "NN0721" "code"
            Expect.stringContains e.Description "--opset 12" "names the opset"
        }
        test "the model starts with ir_version 8 and names the producer (ModelProto fields 1 and 2)" {
            let b = GraphBuilder()
            let x = b.Input("x", Shape(Dim.Sym "n", Dim.Of 2), at)
            let bytes = OnnxExport.ToBytes(b.Build(out (b.Unary(OpKind.Relu, x, at))), noValues, [ "x" ], "g", 17)
            // field 1 varint (tag 0x08) = 8; field 2 length-delimited (tag 0x12), length 2, "nn"
            Expect.sequenceEqual bytes[0..5] [| 0x08uy; 8uy; 0x12uy; 2uy; byte 'n'; byte 'n' |] "header"
        }
    ]
