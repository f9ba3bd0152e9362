/// gather and scatterAdd (src/Runtime/IR/Primitives/Indexing.cs): gradients against float64 central differences and
/// against the formula ∂/∂table[r, k] Σ gather(table, ids)·R = Σ_{i: ids[i] = r} R[i, k] (written here, not taken
/// from the code), the engine against the reference interpreter, and the id errors with their exact messages.
module Nn.Tests.Runtime.IR.Primitives.IndexingTests

open System
open System.Collections.Generic
open Expecto
open Nn.Runtime
open Nn.Runtime.IR
open Nn.Runtime.Execution
open Nn.Runtime.Data
open Nn.Runtime.Engine
open Nn.Runtime.Autodiff

let private sp = SourceSpan("seq.nn", 7, 5, 7, 20)

/// A table [4, 3], ids [2, 3] with repeats (row 3 twice, row 1 twice, row 0 once, row 2 once), weights R [2, 3, 3].
let private ids = [| 3.0; 0.0; 3.0; 1.0; 1.0; 2.0 |]
let private values seed count = let r = Random(seed: int) in Array.init count (fun _ -> r.NextDouble() * 2.0 - 1.0)

/// loss = Σ gather(table, ids)·R and its gradient w.r.t. the table.
let private gatherGraph () =
    let b = GraphBuilder()
    let table = b.Param("table", Shape.Of(4, 3), InitSpec.Zeros, sp)
    let i = b.Input("ids", Shape.Of(2, 3), sp)
    let r = b.Input("r", Shape.Of(2, 3, 3), sp)
    let y = b.Gather(table, i, sp)
    let loss = b.Reduce(OpKind.Sum, b.Binary(OpKind.Mul, y, r, sp), [||], false, sp)
    let grad = (Backward.Gradients(b, loss, [| table |])).[0]
    b.Build [ KeyValuePair("y", y); KeyValuePair("loss", loss); KeyValuePair("grad", grad) ]

let private feeds64 (table: float[]) (i: float[]) (r: float[]) =
    let d = Dictionary<string, Tensor<float>>()
    d["table"] <- Tensor<float>([| 4; 3 |], table)
    d["ids"] <- Tensor<float>([| 2; 3 |], i)
    d["r"] <- Tensor<float>([| 2; 3; 3 |], r)
    d

let private run g feeds (name: string) = (ReferenceInterpreter<float>.Run(g, feeds)).[name].Data

let private runtimeError (f: unit -> unit) =
    try f (); failtest "expected a run-time error" with :? ExecutionException as e -> e

[<Tests>]
let tests =
    testList "Runtime.IR.Primitives.Indexing" [
        test "gather's gradient is the scatter-add of the formula and of float64 central differences" {
            let g = gatherGraph ()
            let table, r = values 1 12, values 2 18
            let out = ReferenceInterpreter<float>.Run(g, feeds64 table ids r)
            // the formula: row ids[i] of the gradient collects R[i, :]
            let expected = Array.zeroCreate 12
            for i in 0 .. 5 do
                for k in 0 .. 2 do expected[int ids[i] * 3 + k] <- expected[int ids[i] * 3 + k] + r[i * 3 + k]
            let grad = out["grad"].Data
            for e in 0 .. 11 do
                Expect.floatClose Accuracy.veryHigh grad[e] expected[e] $"formula, element {e}"
                let at (h: float) =
                    let t = Array.copy table
                    t[e] <- t[e] + h
                    run g (feeds64 t ids r) "loss" |> Array.head
                let fd = (at 1e-5 - at -1e-5) / 2e-5
                Expect.floatClose { absolute = 1e-9; relative = 1e-9 } grad[e] fd $"finite differences, element {e}"
            // forward values: element (i, k) is table[ids[i], k]
            for i in 0 .. 5 do
                for k in 0 .. 2 do
                    Expect.equal out["y"].Data[i * 3 + k] table[int ids[i] * 3 + k] $"y[{i}, {k}]"
        }
        test "scatterAdd's gradient w.r.t. its rows is a gather (float64 central differences)" {
            let b = GraphBuilder()
            let rows = b.Param("rows", Shape.Of(2, 3, 3), InitSpec.Zeros, sp)
            let i = b.Input("ids", Shape.Of(2, 3), sp)
            let w = b.Input("w", Shape.Of(4, 3), sp)
            let s = b.ScatterAdd(rows, i, Shape.Of(4, 3), sp)
            let loss = b.Reduce(OpKind.Sum, b.Binary(OpKind.Mul, s, w, sp), [||], false, sp)
            let grad = (Backward.Gradients(b, loss, [| rows |])).[0]
            Expect.equal grad.Op OpKind.Gather "the gradient is a gather"
            let g = b.Build [ KeyValuePair("loss", loss); KeyValuePair("grad", grad) ]
            let x, wv = values 3 18, values 4 12
            let feeds (x: float[]) =
                let d = Dictionary<string, Tensor<float>>()
                d["rows"] <- Tensor<float>([| 2; 3; 3 |], x)
                d["ids"] <- Tensor<float>([| 2; 3 |], ids)
                d["w"] <- Tensor<float>([| 4; 3 |], wv)
                d
            let grad = run g (feeds x) "grad"
            for e in 0 .. 17 do
                let at (h: float) =
                    let t = Array.copy x
                    t[e] <- t[e] + h
                    run g (feeds t) "loss" |> Array.head
                let fd = (at 1e-5 - at -1e-5) / 2e-5
                Expect.floatClose { absolute = 1e-9; relative = 1e-9 } grad[e] fd $"element {e}"
        }
        test "the engine agrees with the reference interpreter on gather and its gradient" {
            let g = gatherGraph ()
            let table, r = values 5 12, values 6 18
            let reference = ReferenceInterpreter<float>.Run(g, feeds64 table ids r)
            let f32 = Dictionary<string, HostTensor>()
            f32["table"] <- HostTensor([| 4; 3 |], Array.map float32 table)
            f32["ids"] <- HostTensor([| 2; 3 |], Array.map float32 ids)
            f32["r"] <- HostTensor([| 2; 3; 3 |], Array.map float32 r)
            for optimize in [ false; true ] do
                let fused = GraphRunner.Run(g, f32, optimize = optimize)
                for name in [ "y"; "loss"; "grad" ] do
                    Expect.sequenceEqual fused[name].Shape reference[name].Shape $"{name}: shape"
                    Array.iteri2 (fun e (a: float32) b ->
                        Expect.floatClose { absolute = 1e-6; relative = 1e-5 } (float a) b $"{name}[{e}]")
                        fused[name].Data reference[name].Data
        }
        test "an id outside 0..v-1 is NN0546 at the op's line, naming the op, the id and v, in both executors" {
            let g = gatherGraph ()
            let bad = [| 3.0; 0.0; 3.0; 1.0; 4.0; 2.0 |]
            let message = "`gather`: id 4 (element 4 of the ids) is outside 0..3 (the table has 4 rows)"
            let e = runtimeError (fun () -> ReferenceInterpreter<float>.Run(g, feeds64 (values 1 12) bad (values 2 18))
                                            |> ignore)
            Expect.equal e.Code "NN0546" "code"
            Expect.equal e.Description message "message"
            Expect.equal e.Span sp "the line of the gather"
            let f32 = Dictionary<string, HostTensor>()
            f32["table"] <- HostTensor([| 4; 3 |], Array.zeroCreate 12)
            f32["ids"] <- HostTensor([| 2; 3 |], [| 3f; 0f; 3f; 1f; -1f; 2f |])
            f32["r"] <- HostTensor([| 2; 3; 3 |], Array.zeroCreate 18)
            let e = runtimeError (fun () -> GraphRunner.Run(g, f32) |> ignore)
            Expect.equal (e.Code, e.Description, e.Span)
                ("NN0546", "`gather`: id -1 (element 4 of the ids) is outside 0..3 (the table has 4 rows)", sp) "engine"
        }
        test "an id that is not a whole number is NN0547" {
            let g = gatherGraph ()
            let e = runtimeError (fun () ->
                let fractional = [| 0.0; 2.5; 0.0; 0.0; 0.0; 0.0 |]
                ReferenceInterpreter<float>.Run(g, feeds64 (values 1 12) fractional (values 2 18)) |> ignore)
            Expect.equal (e.Code, e.Description)
                ("NN0547", "`gather`: id 2.5 (element 1 of the ids) is not a whole number") "message"
        }
        test "the shape rule: [v, d] table, ids of any shape, [.., d] out" {
            let b = GraphBuilder()
            let t = b.Param("t", Shape.Of(5, 2), InitSpec.Zeros, sp)
            let i = b.Input("i", Shape(Dim.Sym "n", Dim.Of 7), sp)
            Expect.equal (b.Gather(t, i, sp)).Shape (Shape(Dim.Sym "n", Dim.Of 7, Dim.Of 2)) "[n, 7, 2]"
            try
                b.Gather(i, t, sp) |> ignore
                failtest "a table with a variable axis"
            with :? ShapeException as e ->
                Expect.equal (e.Code, e.Description)
                    ("NN0223", "`gather` needs a table [v, d] of fixed sizes, but got [n, 7]") "message"
        }
    ]
