/// `conv1d`, `maxPool1d`, `avgPool1d`, `globalAvgPool`, `globalMaxPool` and `upsample2d` from the language
/// (src/Compiler/Builtins/Windows.fs): each against loops written here by the float64 reference interpreter, the
/// fused engine against the reference, and the gradient of a network using all six against float64 differences.
module Nn.Tests.Compiler.WindowsTests

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

type private T64 = Tensor<double>
type private Interp = ReferenceInterpreter<double>

let private randomT (rng: Random) (shape: int[]) =
    T64(shape, Array.init (T64.CountOf shape) (fun _ -> rng.NextDouble() * 2.0 - 1.0))

/// A network's output for the input `x` (and the parameter `k` if it has one) by the reference interpreter, checked
/// against the fused engine in float32.
let private run (program: string) (x: T64) (k: T64 option) =
    let b, fwd = forwardOf program
    let g = b.Build [ KeyValuePair("y", fwd.Output) ]
    let input = fwd.Inputs |> List.exactlyOne |> fst
    let feeds = Dictionary<string, T64>()
    feeds[input] <- x
    let f32 = Dictionary<string, HostTensor>()
    f32[input] <- HostTensor(x.Shape, Array.map float32 x.Data)
    match k with
    | Some kv ->
        let p = b.Nodes |> Seq.find (fun n -> n.Op = OpKind.Param)
        feeds[p.Name] <- kv
        f32[p.Name] <- HostTensor(kv.Shape, Array.map float32 kv.Data)
    | None -> ()
    let y = Interp.Run(g, feeds).["y"]
    let fused = GraphRunner.Run(g, f32).["y"]
    Expect.sequenceEqual fused.Shape y.Shape "engine: shape"
    Array.iteri2 (fun i (a: float32) e ->
        if abs (float a - e) > 1e-5 * (1.0 + abs e) then failtestf "engine: y[%d] is %g, the reference %g" i a e)
        fused.Data y.Data
    string fwd.Output.Shape, y

/// x[b, t, c] of a sequence.
let private at (x: T64) b t c = x.Data[(b * x.Shape[1] + t) * x.Shape[2] + c]

/// A 1-d convolution as loops: y[b, o, co] = Σ x[b, o·s + d − before, ci]·k[d, ci, co] over steps inside x.
let private naiveConv1d (x: T64) (k: T64) s before out =
    let n, t, ci, len, co = x.Shape[0], x.Shape[1], x.Shape[2], k.Shape[0], k.Shape[2]
    T64([| n; out; co |], [|
        for b in 0 .. n - 1 do
          for o in 0 .. out - 1 do
            for c in 0 .. co - 1 ->
              Seq.sum (seq {
                  for d in 0 .. len - 1 do
                    let i = o * s + d - before
                    if i >= 0 && i < t then
                      for j in 0 .. ci - 1 -> at x b i j * k.Data[(d * ci + j) * co + c] }) |])

/// A 1-d pooling as loops over the steps of each window inside x (padding ignored, as Keras).
let private naivePool1d (x: T64) size s before out isMax =
    let n, t, c = x.Shape[0], x.Shape[1], x.Shape[2]
    T64([| n; out; c |], [|
        for b in 0 .. n - 1 do
          for o in 0 .. out - 1 do
            for ch in 0 .. c - 1 ->
              let cells = [ for d in 0 .. size - 1 do
                              let i = o * s + d - before
                              if i >= 0 && i < t then yield at x b i ch ]
              if isMax then List.max cells else List.average cells |])

let private close what (expected: T64) (actual: T64) =
    Expect.sequenceEqual actual.Shape expected.Shape (what + ": shape")
    Array.iteri2 (fun i e a -> if abs (e - a) > 1e-12 then failtestf "%s: y[%d] is %g, loops give %g" what i a e)
        expected.Data actual.Data

[<Tests>]
let tests =
    testList "Compiler.Windows" [
        test "conv1d = a 1-d convolution by loops: same at stride 2, padding 1, valid; reference and engine" {
            // (settings, output steps, padding before) over 7 steps with a kernel of 3; Keras' same at stride 2:
            // ⌈7/2⌉ = 4 outputs, a total padding of 3·2 + 3 − 7 = 2, one before
            for settings, s, out, before in [ "{ stride = 2; padding = same }", 2, 4, 1
                                              "{ stride = 1; padding = 1 }", 1, 7, 1
                                              "{ stride = 2; padding = valid }", 2, 3, 0
                                              "{ padding = same }", 1, 7, 1 ] do
                let program =
                    "network c (x: [n, 7, 2]) =\n    param k : [3, 2, 4] = zeros\n"
                    + sprintf "    conv1d %s k x\n" settings
                let rng = Random 7
                let x, k = randomT rng [| 2; 7; 2 |], randomT rng [| 3; 2; 4 |]
                let shape, y = run program x (Some k)
                Expect.equal shape (sprintf "[n, %d, 4]" out) (settings + ": shape")
                close settings (naiveConv1d x k s before out) y
        }
        test "maxPool1d and avgPool1d = loops over each window's steps (padding ignored, as Keras)" {
            for settings, size, s, out, before in [ "{ size = 3; stride = 2; padding = same }", 3, 2, 4, 1
                                                    "2", 2, 2, 3, 0
                                                    "{ size = 3; stride = 1; padding = 1 }", 3, 1, 7, 1
                                                    "{ size = 4 }", 4, 4, 1, 0 ] do
                for name, isMax in [ "maxPool1d", true; "avgPool1d", false ] do
                    let program = sprintf "network p (x: [n, 7, 2]) =\n    x |> %s %s\n" name settings
                    let x = randomT (Random 11) [| 2; 7; 2 |]
                    let shape, y = run program x None
                    let what = sprintf "%s %s" name settings
                    Expect.equal shape (sprintf "[n, %d, 2]" out) (what + ": shape")
                    close what (naivePool1d x size s before out isMax) y
        }
        test "globalAvgPool and globalMaxPool reduce every axis but the first and last" {
            let x = randomT (Random 5) [| 2; 3; 4; 2 |]
            let cells b c = [ for i in 0 .. 2 do for j in 0 .. 3 -> x.Data[((b * 3 + i) * 4 + j) * 2 + c] ]
            for name, f in [ "globalAvgPool", List.average; "globalMaxPool", List.max ] do
                let shape, y = run (sprintf "network g (x: [n, 3, 4, 2]) =\n    %s x\n" name) x None
                Expect.equal shape "[n, 2]" (name + ": shape")
                close name (T64([| 2; 2 |], [| for b in 0 .. 1 do for c in 0 .. 1 -> f (cells b c) |])) y
            let s = randomT (Random 6) [| 2; 5; 3 |]
            let shape, y = run "network g (x: [n, 5, 3]) =\n    globalMaxPool x\n" s None
            Expect.equal shape "[n, 3]" "a sequence"
            let maxima = [| for b in 0 .. 1 do for c in 0 .. 2 -> List.max [ for t in 0 .. 4 -> at s b t c ] |]
            close "sequence" (T64([| 2; 3 |], maxima)) y
        }
        test "upsample2d repeats each pixel s×s times (nearest)" {
            let x = randomT (Random 9) [| 2; 2; 3; 2 |]
            for f in [ 1; 2; 3 ] do
                let shape, y = run (sprintf "network u (x: [n, 2, 3, 2]) =\n    upsample2d %d x\n" f) x None
                Expect.equal shape (sprintf "[n, %d, %d, 2]" (2 * f) (3 * f)) "shape"
                let expected =
                    [| for b in 0 .. 1 do
                         for i in 0 .. 2 * f - 1 do
                           for j in 0 .. 3 * f - 1 do
                             for c in 0 .. 1 -> x.Data[((b * 2 + i / f) * 3 + j / f) * 2 + c] |]
                close (sprintf "factor %d" f) (T64([| 2; 2 * f; 3 * f; 2 |], expected)) y
        }
        test "gradients of all six through one network = float64 finite differences; the engine's = the reference's" {
            let program =
                "network g (x: [n, 8, 2]) =\n"
                + "    param k : [3, 2, 3] = zeros\n"
                + "    let s = x |> conv1d { stride = 1; padding = same } k |> tanh\n"
                + "              |> maxPool1d { size = 3; stride = 2; padding = same }\n"
                + "              |> avgPool1d { size = 2; stride = 1 }\n"
                + "    let image = reshape [n; 3; 3; 1] s |> upsample2d 2\n"
                + "    concat 1 [globalAvgPool s; globalMaxPool (image * image); globalAvgPool (image * image)]\n"
            let b, fwd = forwardOf program
            Expect.equal (string fwd.Output.Shape) "[n, 5]" "shape"
            let k = b.Nodes |> Seq.find (fun n -> n.Op = OpKind.Param)
            let input = fwd.Inputs |> List.exactlyOne |> snd
            let r = b.Input("r", fwd.Output.Shape, SourceSpan.None)
            let loss =
                b.Reduce(OpKind.Sum, b.Binary(OpKind.Mul, fwd.Output, r, SourceSpan.None), [||], false, SourceSpan.None)
            let grads = Backward.Gradients(b, loss, [| k; input |])
            let g = b.Build [ KeyValuePair("loss", loss); KeyValuePair("dk", grads[0]); KeyValuePair("dx", grads[1]) ]
            let mutable smooth = 0
            for seed in 1 .. 6 do
                let rng = Random seed
                let xv, kv, rv = randomT rng [| 2; 8; 2 |], randomT rng [| 3; 2; 3 |], randomT rng [| 2; 5 |]
                let feeds (xv: T64) (kv: T64) =
                    Dictionary(dict [ "x", xv; k.Name, kv; "r", rv ])
                let out = Interp.Run(g, feeds xv kv)
                // the fused engine's gradients in float32 agree with the reference's
                let f32 = Dictionary<string, HostTensor>()
                for KeyValue(name, t: T64) in feeds xv kv do f32[name] <- HostTensor(t.Shape, Array.map float32 t.Data)
                let fused = GraphRunner.Run(g, f32)
                for name in [ "dk"; "dx" ] do
                    Array.iteri2 (fun i (a: float32) e ->
                        if abs (float a - e) > 1e-4 * (1.0 + abs e) then
                            failtestf "seed %d: engine %s[%d] is %g, the reference %g" seed name i a e)
                        fused[name].Data out[name].Data
                let vx, vk = randomT rng xv.Shape, randomT rng kv.Shape
                let along (a: T64) (v: T64) t = T64(a.Shape, Array.map2 (fun p d -> p + t * d) a.Data v.Data)
                let at t = Interp.Run(g, feeds (along xv vx t) (along kv vk t)).["loss"].Data[0]
                let central h = (at h - at -h) / (2.0 * h)
                let fd = central 1e-6
                // a maximum that changes within h makes the loss not smooth there: skip that seed
                if abs (fd - central 5e-7) < 1e-6 then
                    let dot (a: T64) (v: T64) = Array.fold2 (fun s p d -> s + p * d) 0.0 a.Data v.Data
                    let ad = dot out["dx"] vx + dot out["dk"] vk
                    Expect.floatClose { absolute = 1e-7; relative = 1e-6 } ad fd (sprintf "seed %d: ⟨∇L, v⟩" seed)
                    smooth <- smooth + 1
            Expect.isGreaterThanOrEqual smooth 4 "most seeds are smooth points"
        }
        test "examples/conv_autoencoder.nn: the engine's reconstruction = the reference's" {
            let b, fwd = forwardOf (File.ReadAllText(Path.Combine(repoRoot, "examples", "conv_autoencoder.nn")))
            Expect.equal (string fwd.Output.Shape) "[n, 28, 28]" "shape"
            let g = b.Build [ KeyValuePair("y", fwd.Output) ]
            let rng = Random 4
            let feeds = Dictionary<string, T64>()
            feeds["image"] <- T64([| 2; 28; 28 |], Array.init 1568 (fun _ -> float (rng.Next 256)))
            for p in b.Nodes |> Seq.filter (fun n -> n.Op = OpKind.Param) do
                feeds[p.Name] <- randomT rng (p.Shape.ToArray() |> Array.map (fun d -> d.Size))
            let f32 = Dictionary<string, HostTensor>()
            for KeyValue(name, t: T64) in feeds do f32[name] <- HostTensor(t.Shape, Array.map float32 t.Data)
            let y, fused = Interp.Run(g, feeds).["y"], GraphRunner.Run(g, f32).["y"]
            Expect.sequenceEqual fused.Shape y.Shape "engine: shape"
            Array.iteri2 (fun i (a: float32) e ->
                if abs (float a - e) > 1e-4 then failtestf "engine: y[%d] is %g, the reference %g" i a e)
                fused.Data y.Data
        }
    ]
