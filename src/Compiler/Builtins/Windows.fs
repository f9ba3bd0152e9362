/// Window built-ins over sequences and images that the 2-d ones already compute: `conv1d`, `maxPool1d`, `avgPool1d`
/// (a sequence [n, t, c] as an image [n, t, 1, c], through reshapes), `globalAvgPool`/`globalMaxPool` (mean and
/// maximum over every axis but the first and last) and `upsample2d` (nearest, a broadcast between two reshapes).
/// Each is a composition of existing primitives, so its shape rule, gradient, reference semantics and kernels are
/// theirs; only the checks that name the written op (NN0225-NN0229) are here.
module internal Nn.Compiler.Builtins.Windows

open Nn.Dsl
open Nn.Runtime.IR
open Nn.Runtime.Kernels
open Nn.Compiler
open Nn.Compiler.Context
open Nn.Compiler.Builtins.Define

let private tensorArg name doc (v, s) =
    match v with
    | VTensor n -> n
    | _ -> expects name doc s v

/// The paddings (before, after) of a window of `size` at `stride` along a sequence of `t` steps (WindowGeometry's,
/// the one definition); 0 outputs when the window does not fit the padded sequence.
let private along t size stride padding =
    let g = WindowGeometry.Of(t, 1, size, 1, stride, 1, padding)
    g.OutHeight, g.PadTop, g.PadBottom

/// A sequence [n, t, c] with a fixed number of steps, or NN0225 naming the op.
let private sequence name (x: Node) span =
    if x.Shape.Rank <> 3 then
        fail "NN0225" span (sprintf "`%s` needs a sequence [n, t, c], but the value is %O" name x.Shape)
    if not x.Shape[1].IsFixed then
        fail "NN0225" span (sprintf "`%s` needs a fixed number of steps (axis 1), but the value is %O" name x.Shape)
    x.Shape[1].Size

/// [n, t, c] ↔ [n, t, 1, c]: the reshapes are views.
let private asImage (ctx: EvalContext) (x: Node) src =
    let s = x.Shape
    ctx.Builder.Reshape(x, Shape(s[0], s[1], Dim.Of 1, s[2]), src)
let private asSequence (ctx: EvalContext) (y: Node) src =
    let s = y.Shape
    ctx.Builder.Reshape(y, Shape(s[0], s[1], s[3]), src)

/// conv1d { stride = 1; padding = same } kernel sequence: a kernel [k, cin, cout] over [n, t, cin] → [n, t', cout]
/// (Keras' `Conv1D`, PyTorch's `F.conv1d` but channels last), as conv2d with a [k, 1, cin, cout] kernel.
let private conv1d =
    fn "conv1d" 3 "settings { stride; padding }, a kernel [k, cin, cout] and a sequence [n, t, cin]"
        (fun ctx span args ->
            let (cfg, cfgSpan), k, x = args3 args
            let _, stride, padding = Layers.windowSettings "conv1d" [ "stride"; "padding" ] (fun _ -> 1) cfgSpan cfg
            let k = tensorArg "conv1d" "a kernel tensor [k, cin, cout]" k
            let x = tensorArg "conv1d" "a sequence tensor [n, t, cin]" x
            let t = sequence "conv1d" x span
            if k.Shape.Rank <> 3 || not k.Shape[0].IsFixed then
                fail "NN0225" span
                    (sprintf "`conv1d` needs a kernel [k, cin, cout] of fixed length, but the kernel is %O" k.Shape)
            if k.Shape[1] <> x.Shape[2] then
                fail "NN0225" span
                    (sprintf "`conv1d` needs the sequence's channels (its last axis, %O) to equal the kernel's input "
                        x.Shape[2]
                     + sprintf "channels (its second axis, %O), but the sequence is %O and the kernel is %O"
                        k.Shape[1] x.Shape k.Shape)
            let size = k.Shape[0].Size
            let out, before, after = along t size stride padding
            if out < 1 then
                fail "NN0226" span
                    (sprintf "`conv1d`: the kernel's length %d is larger than the sequence %O%s" size x.Shape
                        (if before + after > 0 then sprintf " padded by %d" (before + after) else ""))
            graph ctx span (fun src ->
                let ks = k.Shape
                let k2 = ctx.Builder.Reshape(k, Shape(ks[0], Dim.Of 1, ks[1], ks[2]), src)
                let y = ctx.Builder.Conv2d(asImage ctx x src, k2, stride, 1, [| before; 0; after; 0 |], src)
                VTensor(asSequence ctx y src)))

/// maxPool1d 2 sequence, or maxPool1d { size = 3; stride = 2; padding = same } sequence (stride = size unless
/// given; Keras' `MaxPooling1D`/`AveragePooling1D`, padded steps ignored as Keras does). The 2-d pools have square
/// windows: the sequence [n, t, 1, c] is broadcast to `size` identical columns [n, t, size, c], whose size×size
/// windows hold each step `size` times: the same maximum, the same mean, and a gradient summed back by the broadcast.
let private pool1d name op =
    fn name 2 "a window size (or settings { size; stride; padding }) and a sequence [n, t, c]" (fun ctx span args ->
        let (cfg, cSpan), x = args2 args
        let size, stride, padding =
            match cfg with
            | VRecord _ -> Layers.windowSettings name [ "size"; "stride"; "padding" ] id cSpan cfg
            | VNum _ ->
                let size = Tensors.intOf cSpan cfg
                if size <= 0 then fail "NN0306" cSpan (sprintf "`%s` needs a positive window size, got %d" name size)
                size, size, Padding.Valid
            | v -> expects name "a window size or settings such as { size = 2; stride = 2; padding = valid }" cSpan v
        let x = tensorArg name "a sequence tensor [n, t, c]" x
        let t = sequence name x span
        let out, before, after = along t size stride padding
        if out < 1 then
            fail "NN0226" span (sprintf "`%s` window %d is larger than the sequence %O" name size x.Shape)
        graph ctx span (fun src ->
            let s = x.Shape
            let wide = ctx.Builder.Broadcast(asImage ctx x src, Shape(s[0], s[1], Dim.Of size, s[2]), src)
            let y = ctx.Builder.Pool(op, wide, size, stride, [| before; 0; after; 0 |], src)
            VTensor(asSequence ctx y src)))

/// globalAvgPool x / globalMaxPool x: [n, ..., c] → [n, c], the mean or maximum over every axis but the first and
/// the last (Keras' `GlobalAveragePooling1D/2D`, `GlobalMaxPooling1D/2D`; PyTorch's `x.mean((1, 2))`).
let private globalPool name op =
    fn name 1 "a tensor [n, ..., c]" (fun ctx span args ->
        let x = tensorArg name "a tensor [n, ..., c]" (args1 args)
        let rank = x.Shape.Rank
        if rank < 3 then
            fail "NN0227" span
                (sprintf "`%s` needs a tensor [n, ..., c] with an axis between the first and the last, " name
                 + sprintf "but the value is %O" x.Shape)
        VTensor(graph ctx span (fun src -> ctx.Builder.Reduce(op, x, [| 1 .. rank - 2 |], false, src))))

/// upsample2d s image: [n, h, w, c] → [n, h·s, w·s, c], each pixel repeated s×s times (Keras' `UpSampling2D(s)`,
/// PyTorch's `nn.Upsample(scale_factor=s, mode='nearest')`), as [n, h, 1, w, 1, c] broadcast to [n, h, s, w, s, c].
let private upsample2d =
    fn "upsample2d" 2 "a whole factor and an image [n, h, w, c]" (fun ctx span args ->
        let (f, fSpan), x = args2 args
        let factor =
            match f with
            | VNum(v, _) when v = floor v && v >= 1.0 && v < 1e6 -> int v
            | VNum(v, _) ->
                fail "NN0228" fSpan (sprintf "`upsample2d` needs a positive whole factor, got %s" (showNumber v))
            | v -> expects "upsample2d" "a positive whole factor" fSpan v
        let x = tensorArg "upsample2d" "an image tensor [n, h, w, c]" x
        let s = x.Shape
        if s.Rank <> 4 || not s[1].IsFixed || not s[2].IsFixed then
            fail "NN0229" span
                (sprintf "`upsample2d` needs an image [n, h, w, c] of fixed height and width, but the value is %O" s)
        graph ctx span (fun src ->
            let one, by = Dim.Of 1, Dim.Of factor
            let cells = ctx.Builder.Reshape(x, Shape(s[0], s[1], one, s[2], one, s[3]), src)
            let repeated = ctx.Builder.Broadcast(cells, Shape(s[0], s[1], by, s[2], by, s[3]), src)
            let target = Shape(s[0], Dim.Of(s[1].Size * factor), Dim.Of(s[2].Size * factor), s[3])
            VTensor(ctx.Builder.Reshape(repeated, target, src))))

/// All built-ins of this module.
let all: Builtin list =
    [ conv1d
      pool1d "maxPool1d" OpKind.MaxPool2d
      pool1d "avgPool1d" OpKind.AvgPool2d
      globalPool "globalAvgPool" OpKind.Mean
      globalPool "globalMaxPool" OpKind.ReduceMax
      upsample2d ]
