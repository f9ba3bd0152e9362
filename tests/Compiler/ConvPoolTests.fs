/// conv2d and pooling from the language: their paddings are Keras', a stride-2 network end to end against loops
/// written here (forward, and gradients against finite differences in float64), and the settings' errors.
module Nn.Tests.Compiler.ConvPoolTests

open System
open System.Collections.Generic
open System.IO
open Expecto
open Nn.Runtime
open Nn.Runtime.IR
open Nn.Runtime.Autodiff
open Nn.Runtime.Execution
open Nn.Compiler
open Nn.Tests.TestUtil

type private T64 = Tensor<double>
type private Interp = ReferenceInterpreter<double>

let private compile (text: string) = Compile.compileText (Path.Combine(repoRoot, "examples", "test.nn")) text

let private forwardOf (text: string) =
    match compile text with
    | Ok c ->
        let b = GraphBuilder()
        b, Compile.forward c.Networks.Head b false
    | Error ds -> failtestf "did not compile: %A" (ds |> List.map (fun d -> d.Message))

/// Keras' `same` along one axis, written here: (output size, padding before).
let private kerasSame h k s =
    let out = (h + s - 1) / s
    let total = max ((out - 1) * s + k - h) 0
    out, total / 2

/// Keras' `same` on an h×w image: the output height and width and the paddings [top; left; bottom; right].
let private kerasSame2d h w k s =
    let axis size =
        let out, before = kerasSame size k s
        out, before, max ((out - 1) * s + k - size) 0 - before
    let oh, t, b = axis h
    let ow, l, r = axis w
    oh, ow, [| t; l; b; r |]

let private windowProgram h w k s =
    String.concat "\n"
        [ "let conv (x: [n, h, w, c]) ="
          sprintf "    param k : [%d, %d, c, 2] = zeros" k k
          sprintf "    conv2d { stride = %d; padding = same } k x" s
          ""
          sprintf "network net (image: [n, %d, %d, 1]) =" h w
          sprintf "    image |> conv |> maxPool2d { size = %d; stride = %d; padding = same }" k s
          sprintf "          |> avgPool2d { size = %d; stride = %d; padding = same }" k s
          "" ]

/// The paddings a node of the given op got: [top; left; bottom; right].
let private padsOf (b: GraphBuilder) op =
    b.Nodes
    |> Seq.filter (fun n -> n.Op = op)
    |> Seq.map (fun n ->
        let p = (if isNull n.Attrs.Conv then n.Attrs.Pool.Pads else n.Attrs.Conv.Pads) in
        [| p.Top; p.Left; p.Bottom; p.Right |])
    |> List.ofSeq

// ---- a stride-2 network, by its definition ----
let private strided = """
let conv (x: [n, h, w, c]) =
    param k : [3, 3, c, 3] = normal 0.5
    conv2d { stride = 2; padding = same } k x

network net (image: [n, 9, 8, 2]) =
    image |> conv |> maxPool2d { size = 3; stride = 2; padding = same }
          |> avgPool2d { size = 3; stride = 1; padding = 1 }
"""

let private get (x: T64) b y x' c = x.Data[((b * x.Shape[1] + y) * x.Shape[2] + x') * x.Shape[3] + c]

/// conv2d with Keras' `same` at stride s, as loops.
let private naiveConv (x: T64) (k: T64) s =
    let n, h, w, ci = x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
    let kh, kw, co = k.Shape[0], k.Shape[1], k.Shape[3]
    let (oh, pt), (ow, pl) = kerasSame h kh s, kerasSame w kw s
    T64([| n; oh; ow; co |], [|
        for b in 0 .. n - 1 do
          for oy in 0 .. oh - 1 do
            for ox in 0 .. ow - 1 do
              for o in 0 .. co - 1 do
                let mutable acc = 0.0
                for dy in 0 .. kh - 1 do
                  for dx in 0 .. kw - 1 do
                    let iy, ix = oy * s + dy - pt, ox * s + dx - pl
                    if iy >= 0 && iy < h && ix >= 0 && ix < w then
                      for c in 0 .. ci - 1 do acc <- acc + get x b iy ix c * k.Data[((dy * kw + dx) * ci + c) * co + o]
                yield acc |])

/// Pooling over the window's cells inside the image (padding ignored, as Keras), as loops.
let private naivePool (x: T64) size s (oh, pt) (ow, pl) isMax =
    let n, h, w, c = x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
    T64([| n; oh; ow; c |], [|
        for b in 0 .. n - 1 do
          for oy in 0 .. oh - 1 do
            for ox in 0 .. ow - 1 do
              for ch in 0 .. c - 1 do
                let cells =
                    [ for dy in 0 .. size - 1 do
                        for dx in 0 .. size - 1 do
                          let iy, ix = oy * s + dy - pt, ox * s + dx - pl
                          if iy >= 0 && iy < h && ix >= 0 && ix < w then yield get x b iy ix ch ]
                yield if isMax then List.max cells else List.average cells |])

let private naiveNet (image: T64) (k: T64) =
    let c = naiveConv image k 2                                           // [n, 5, 4, 3]
    let p = naivePool c 3 2 (kerasSame 5 3 2) (kerasSame 4 3 2) true      // [n, 3, 2, 3]
    naivePool p 3 1 (3, 1) (2, 1) false                                   // padding 1: [n, 3, 2, 3]

let private randomT (rng: Random) (shape: int[]) =
    T64(shape, Array.init (T64.CountOf shape) (fun _ -> rng.NextDouble() * 2.0 - 1.0))
let private dot (a: T64) (b: T64) = Array.fold2 (fun s x y -> s + x * y) 0.0 a.Data b.Data
let private along (a: T64) (v: T64) t = T64(a.Shape, Array.map2 (fun x d -> x + t * d) a.Data v.Data)

let private errorOf (text: string) =
    match compile text with
    | Ok _ -> failtest "expected the program to be rejected"
    | Error ds -> let d = List.head ds in d.Code, d.Message

[<Tests>]
let tests =
    testList "Compiler.ConvPool" [
        test "conv2d `same` on 8×8 with a 3×3 kernel at stride 2 pads 0 top/left and 1 bottom/right, as Keras" {
            let b, _ = forwardOf (windowProgram 8 8 3 2)
            Expect.equal (padsOf b OpKind.Conv2d) [ [| 0; 0; 1; 1 |] ] "conv2d's paddings in the graph"
            let conv = b.Nodes |> Seq.find (fun n -> n.Op = OpKind.Conv2d)
            Expect.stringContains (GraphPrinter.Describe conv) "[2,2,0,0,1,1]" "what `nn graph` prints"
        }
        test "conv2d and pooling `same` are Keras' for every h ≤ 16, k ≤ 5, s ≤ 3 through the built-ins" {
            for h in 1 .. 16 do
                for k in 1 .. 5 do
                    for s in 1 .. 3 do
                        let b, fwd = forwardOf (windowProgram h (h + 3) k s)
                        let o1, w1, pads1 = kerasSame2d h (h + 3) k s
                        let o2, w2, pads2 = kerasSame2d o1 w1 k s
                        let o3, w3, pads3 = kerasSame2d o2 w2 k s
                        let what = sprintf "h=%d k=%d s=%d" h k s
                        Expect.equal (padsOf b OpKind.Conv2d) [ pads1 ] (what + ": conv2d")
                        Expect.equal (padsOf b OpKind.MaxPool2d) [ pads2 ] (what + ": maxPool2d")
                        Expect.equal (padsOf b OpKind.AvgPool2d) [ pads3 ] (what + ": avgPool2d")
                        Expect.equal (string fwd.Output.Shape) (sprintf "[n, %d, %d, 2]" o3 w3) (what + ": shape")
        }
        test "a stride-2 network: forward = loops written here; gradients = float64 finite differences" {
            let b, fwd = forwardOf strided
            let image = fwd.Inputs |> List.exactlyOne |> snd
            let k = b.Nodes |> Seq.find (fun n -> n.Op = OpKind.Param)
            Expect.equal (fwd.Output.Shape.ToString()) "[n, 3, 2, 3]" "output shape"
            let r = b.Input("r", fwd.Output.Shape, SourceSpan.None)
            let product = b.Binary(OpKind.Mul, fwd.Output, r, SourceSpan.None)
            let loss = b.Reduce(OpKind.Sum, product, [||], false, SourceSpan.None)
            let grads = Backward.Gradients(b, loss, [| k; image |])
            let g =
                b.Build([ KeyValuePair("y", fwd.Output); KeyValuePair("dk", grads[0]); KeyValuePair("dx", grads[1])])
            let mutable checkedSeeds = 0
            for seed in 1 .. 5 do
                let rng = Random seed
                let xv, kv = randomT rng [| 2; 9; 8; 2 |], randomT rng [| 3; 3; 2; 3 |]
                let rv = randomT rng [| 2; 3; 2; 3 |]
                let out = Interp.Run(g, Dictionary(dict [ "image", xv; k.Name, kv; "r", rv ]))
                let expected = naiveNet xv kv
                Expect.equal out["y"].Shape expected.Shape "shape"
                for i in 0 .. expected.Count - 1 do
                    let e, a = expected.Data[i], out["y"].Data[i]
                    if abs (e - a) > 1e-12 then failtestf "seed %d: y[%d] is %g, loops give %g" seed i a e
                // L(x, k) = ⟨net(x, k), r⟩ is piecewise linear (max pooling picks cells): central differences along a
                // random direction are exact but for rounding, unless a maximum changes within h (then skip the seed).
                let h = 1e-6
                let lossAt x k' = dot (naiveNet x k') rv
                let vk, vx = randomT rng kv.Shape, randomT rng xv.Shape
                let at t = lossAt (along xv vx t) (along kv vk t)
                let central h = (at h - at -h) / (2.0 * h)
                let fd = central h
                if abs (fd - central (h / 2.0)) < 1e-6 then
                    let ad = dot out["dk"] vk + dot out["dx"] vx
                    let what = sprintf "seed %d: ⟨∇L, v⟩ against finite differences" seed
                    Expect.floatClose { absolute = 1e-6; relative = 1e-6 } ad fd what
                    checkedSeeds <- checkedSeeds + 1
            Expect.isGreaterThanOrEqual checkedSeeds 3 "most seeds are smooth points"
        }
        test "pooling settings: stride defaults to the size, padding to valid" {
            let program = "network net (image: [n, 7, 7, 1]) =\n    image |> maxPool2d { size = 3 } |> avgPool2d 2\n"
            let b, fwd = forwardOf program
            let pools = b.Nodes |> Seq.filter (fun n -> n.Op = OpKind.MaxPool2d) |> Seq.map (fun n -> n.Attrs.Pool)
            Expect.equal (List.ofSeq pools) [ PoolAttrs(3, 3, Pads.None) ] "size 3, stride 3, no padding"
            Expect.equal (string fwd.Output.Shape) "[n, 1, 1, 1]" "7 → 2 → 1"
        }
        test "pooling settings are checked where they are written" {
            let pool settings = sprintf "network net (image: [n, 7, 7, 1]) =\n    image |> maxPool2d %s\n" settings
            Expect.equal (errorOf (pool "{ size = 2; strides = 1 }"))
                ("NN0306", "`maxPool2d` has no setting `strides` (it has `size`, `stride` and `padding`)")
                "unknown setting"
            Expect.equal (errorOf (pool "{ stride = 1 }"))
                ("NN0306", "`maxPool2d` needs a window `size`, as in { size = 2; stride = 2; padding = valid }")
                "no size"
            Expect.equal (errorOf (pool "{ size = 3; padding = 2 }"))
                ("NN0306", "`maxPool2d` pads at most half its window (1), got 2") "padding"
            Expect.equal (errorOf (pool "{ size = 2; stride = 0 }"))
                ("NN0306", "`maxPool2d` needs a positive stride, got 0") "stride"
            let code, message = errorOf (pool "{ size = 2; padding = [1; 1] }")
            Expect.equal code "NN0302" "padding kind"
            Expect.stringStarts message "`maxPool2d` expects padding `same`, `valid` or a number" "padding kind"
        }
    ]
