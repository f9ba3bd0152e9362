/// Slicing, `unstack`, `stack` and `gather` from the language (src/Compiler/Builtins/Sequences.fs): programs compiled
/// and run by the float64 reference interpreter against loops written here, the fused engine against the reference,
/// and the gradient of weights shared across unstacked time steps against float64 finite differences.
module Nn.Tests.Compiler.SequencesTests

open System
open System.Collections.Generic
open System.IO
open Expecto
open Nn.Runtime
open Nn.Runtime.IR
open Nn.Runtime.Data
open Nn.Runtime.Autodiff
open Nn.Runtime.Engine
open Nn.Runtime.Execution
open Nn.Compiler
open Nn.Tests.TestUtil

type private Interp = ReferenceInterpreter<double>

/// x [2, 4, 3] with x[b, t, k] = 100b + 10t + k, so every value names its place.
let private x = Array.init 24 (fun i -> float (100 * (i / 12) + 10 * (i / 3 % 4) + i % 3))
let private at b t k = x[b * 12 + t * 3 + k]

/// The output of a network over x: [n, 4, 3] (its shape and values), by the reference interpreter and by the engine.
let private run (body: string) =
    let b, fwd = forwardOf (sprintf "network t (x: [n, 4, 3]) =\n    %s\n" body)
    let g = b.Build [ KeyValuePair("y", fwd.Output) ]
    let feeds = Dictionary<string, Tensor<double>>()
    feeds["x"] <- Tensor<double>([| 2; 4; 3 |], x)
    let y = Interp.Run(g, feeds).["y"]
    let f32 = Dictionary<string, HostTensor>()
    f32["x"] <- HostTensor([| 2; 4; 3 |], Array.map float32 x)
    let fused = GraphRunner.Run(g, f32).["y"]
    Expect.sequenceEqual fused.Shape y.Shape "engine: shape"
    Expect.sequenceEqual (fused.Data |> Array.map float) y.Data "engine: values (copies are exact)"
    string fwd.Output.Shape, y.Data

[<Tests>]
let tests =
    testList "Compiler.Sequences" [
        test "an index drops its axis, as in F#" {
            let shape, y = run "x.[*, 2, *]"
            Expect.equal shape "[n, 3]" "shape"
            Expect.equal y [| for b in 0 .. 1 do for k in 0 .. 2 -> at b 2 k |] "values"
        }
        test "ranges are inclusive, either end optional" {
            let shape, y = run "x.[*, 1..2, ..1]"
            Expect.equal shape "[n, 2, 2]" "1..2 and ..1"
            Expect.equal y [| for b in 0 .. 1 do for t in 1 .. 2 do for k in 0 .. 1 -> at b t k |] "values"
            let shape, y = run "x.[*, 2.., 1]"
            Expect.equal shape "[n, 2]" "2.. and one index"
            Expect.equal y [| for b in 0 .. 1 do for t in 2 .. 3 -> at b t 1 |] "values"
            let shape, _ = run "x.[*, 3..3]"
            Expect.equal shape "[n, 1, 3]" "3..3 keeps the axis"
        }
        test "unstack gives the time steps; stack puts them back, along any axis" {
            let shape, y = run "x |> unstack 1 |> stack 1"
            Expect.equal shape "[n, 4, 3]" "stack 1 (unstack 1 x) is x"
            Expect.equal y x "values"
            let shape, y = run "x |> unstack 1 |> stack 2"
            Expect.equal shape "[n, 3, 4]" "the steps as the last axis"
            Expect.equal y [| for b in 0 .. 1 do for k in 0 .. 2 do for t in 0 .. 3 -> at b t k |] "values"
            let shape, y = run "x |> unstack -1 |> List.rev |> stack 0"
            Expect.equal shape "[3, n, 4]" "negative axes count from the end"
            Expect.equal y [| for k in 2 .. -1 .. 0 do for b in 0 .. 1 do for t in 0 .. 3 -> at b t k |] "values"
            let shape, y = run "List.length (unstack 1 x) * x.[*, 0, 0]"
            Expect.equal (shape, y) ("[n]", [| 4.0 * at 0 0 0; 4.0 * at 1 0 0 |]) "a static list of 4"
        }
        test "gather through the language: ids [n, t] give [n, t, d]" {
            let b, fwd = forwardOf "network e (ids: [n, 3]) =\n    param table : [5, 2] = zeros\n    gather table ids\n"
            Expect.equal (string fwd.Output.Shape) "[n, 3, 2]" "shape"
            let table = b.Nodes |> Seq.find (fun n -> n.Op = OpKind.Param)
            let g = b.Build [ KeyValuePair("y", fwd.Output) ]
            let feeds = Dictionary<string, Tensor<double>>()
            feeds["ids"] <- Tensor<double>([| 1; 3 |], [| 4.0; 0.0; 4.0 |])
            feeds[table.Name] <- Tensor<double>([| 5; 2 |], Array.init 10 float)
            Expect.equal (Interp.Run(g, feeds).["y"].Data) [| 8.0; 9.0; 0.0; 1.0; 8.0; 9.0 |] "rows 4, 0, 4"
        }
        test "one weight shared by every unstacked step: List.map, stack, gradient = float64 differences" {
            let program =
                "let step (w: [3, 2]) (s: [n, 3]) = tanh (s @ w)\n"
                + "network r (x: [n, 4, 3]) =\n"
                + "    param w : [3, 2] = glorot\n"
                + "    x |> unstack 1 |> List.map (step w) |> stack 1\n"
            let b, fwd = forwardOf program
            Expect.equal (string fwd.Output.Shape) "[n, 4, 2]" "shape"
            let w = b.Nodes |> Seq.filter (fun n -> n.Op = OpKind.Param) |> Seq.exactlyOne
            let input = fwd.Inputs |> List.exactlyOne |> snd
            let r = b.Input("r", fwd.Output.Shape, SourceSpan.None)
            let loss =
                b.Reduce(OpKind.Sum, b.Binary(OpKind.Mul, fwd.Output, r, SourceSpan.None), [||], false, SourceSpan.None)
            let grads = Backward.Gradients(b, loss, [| w; input |])
            let g = b.Build [ KeyValuePair("y", fwd.Output); KeyValuePair("loss", loss)
                              KeyValuePair("dw", grads[0]); KeyValuePair("dx", grads[1]) ]
            let rng = Random 3
            let values n = Array.init n (fun _ -> rng.NextDouble() - 0.5)
            let xv, wv, rv = values 24, values 6, values 16
            let feeds (xv: float[]) (wv: float[]) =
                let d = Dictionary<string, Tensor<double>>()
                d["x"] <- Tensor<double>([| 2; 4; 3 |], xv)
                d[w.Name] <- Tensor<double>([| 3; 2 |], wv)
                d["r"] <- Tensor<double>([| 2; 4; 2 |], rv)
                d
            let out = Interp.Run(g, feeds xv wv)
            // the forward by hand: y[b, t, j] = tanh(Σk x[b, t, k]·w[k, j])
            let y = [| for b in 0 .. 1 do
                         for t in 0 .. 3 do
                             for j in 0 .. 1 ->
                                 tanh (Seq.sum (seq { for k in 0 .. 2 -> xv[b*12 + t*3 + k] * wv[k*2 + j] })) |]
            Array.iteri2 (fun i a e -> Expect.floatClose Accuracy.veryHigh a e $"y[{i}]") out["y"].Data y
            let lossAt xv wv = Interp.Run(g, feeds xv wv).["loss"].Data[0]
            let bump (v: float[]) i h = Array.mapi (fun j a -> if j = i then a + h else a) v
            for i in 0 .. 5 do
                let fd = (lossAt xv (bump wv i 1e-6) - lossAt xv (bump wv i -1e-6)) / 2e-6
                Expect.floatClose { absolute = 1e-8; relative = 1e-7 } out["dw"].Data[i] fd $"dw[{i}]"
            for i in 0 .. 23 do
                let fd = (lossAt (bump xv i 1e-6) wv - lossAt (bump xv i -1e-6) wv) / 2e-6
                Expect.floatClose { absolute = 1e-8; relative = 1e-7 } out["dx"].Data[i] fd $"dx[{i}]"
        }
    ]
