/// Slices read in place by fused loops (Planner: a slice of one axis that only elementwise ops read joins their loop;
/// Binder: a block of each row gathered per tile): the plan has no slice kernel, and the values are the formula's,
/// on one thread and on two, across tiles.
module Nn.Tests.Runtime.Engine.LoopSliceTests

open System.Collections.Generic
open Expecto
open Nn.Runtime
open Nn.Runtime.IR
open Nn.Runtime.Data
open Nn.Runtime.Engine
open Nn.Runtime.Engine.Planning

let private sp = SourceSpan.None

/// z [rows, 4·w] with z[r, c] = (r·7 + c) mod 13 / 13 − 0.5; out = sigmoid(gate 0)·tanh(gate 2) + gate 3, the gates
/// being column blocks of w (an LSTM cell's shape).
let private cell rows w threads =
    let b = GraphBuilder()
    let z = b.Input("z", Shape.Of(rows, 4 * w), sp)
    let gate k = b.Slice(z, [| 0; k * w |], [| -1; (k + 1) * w |], sp)
    let out =
        b.Binary(OpKind.Add,
            b.Binary(OpKind.Mul, b.Unary(OpKind.Sigmoid, gate 0, sp), b.Unary(OpKind.Tanh, gate 2, sp), sp),
            gate 3, sp)
    let graph = b.Build([ KeyValuePair("out", out) ])
    let value r c = float32 ((r * 7 + c) % 13) / 13.0f - 0.5f
    let data = Array.init (rows * 4 * w) (fun i -> value (i / (4 * w)) (i % (4 * w)))
    let feeds = Dictionary(dict [ "z", HostTensor([| rows; 4 * w |], data) ])
    let expected =
        Array.init (rows * w) (fun i ->
            let r, c = i / w, i % w
            let s = 1.0 / (1.0 + exp (-(float (value r c))))
            s * tanh (float (value r (2 * w + c))) + float (value r (3 * w + c)))
    GraphRunner.Compile(graph, feeds, threads).Plan, GraphRunner.Run(graph, feeds, threads).["out"].Data, expected

[<Tests>]
let tests =
    testList "Runtime.Engine.LoopSlice" [
        for rows, w, threads in [ 3, 5, 1; 64, 32, 1; 1100, 32, 2; 37, 29, 2 ] do
            test (sprintf "an LSTM cell over column blocks of [%d, %d] is one fused loop, %d thread(s)"
                      rows (4 * w) threads) {
                let plan, actual, expected = cell rows w threads
                Expect.equal (plan.Kernels |> Seq.map (fun k -> k.GetType().Name) |> List.ofSeq) [ "FusedLoop" ]
                    "no slice kernel"
                // sigmoid and tanh of float32 within a few ulps; the sum of values below 1.5
                Array.iteri2 (fun i (a: float32) (e: float) ->
                    if abs (float a - e) > 1e-6 then failtestf "element %d: %g, expected %g" i a e) actual expected
            }
    ]
