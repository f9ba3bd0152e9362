module Nn.Tests.Runtime.Kernels.ConvTests

open System
open Expecto
open Nn.Runtime.Kernels

/// Float32 convolution vs float64: sums of up to kh·kw·cin products of values in [-1, 1].
let convTol = 2e-5
/// Finite differences of the float64 naive convolution (central, step h): it is linear, so only rounding remains.
let fdTol = 1e-6
/// Window means in float32: a sum of up to size² values in [-1, 1], then a scale.
let poolTol = { absolute = 1e-6; relative = 1e-5 }

let randoms seed n = let rng = Random(seed) in Array.init n (fun _ -> rng.NextDouble() * 2.0 - 1.0)

/// The naive NHWC convolution in float64, straight from the definition.
let naiveConv (s: Conv2dShape) (x: float[]) (w: float[]) =
    let y = Array.zeroCreate s.OutputLength
    for n in 0 .. s.Batch - 1 do
        for oy in 0 .. s.OutHeight - 1 do
            for ox in 0 .. s.OutWidth - 1 do
                for co in 0 .. s.OutChannels - 1 do
                    let mutable acc = 0.0
                    for ky in 0 .. s.KernelHeight - 1 do
                        for kx in 0 .. s.KernelWidth - 1 do
                            let iy = oy * s.StrideH - s.PadTop + ky
                            let ix = ox * s.StrideW - s.PadLeft + kx
                            if iy >= 0 && iy < s.Height && ix >= 0 && ix < s.Width then
                                for ci in 0 .. s.InChannels - 1 do
                                    acc <-
                                        acc
                                        + x[((n * s.Height + iy) * s.Width + ix) * s.InChannels + ci]
                                          * w[((ky * s.KernelWidth + kx) * s.InChannels + ci) * s.OutChannels + co]
                    y[((n * s.OutHeight + oy) * s.OutWidth + ox) * s.OutChannels + co] <- acc
    y

let dot (a: float[]) (b: float[]) = Array.fold2 (fun s x y -> s + x * y) 0.0 a b
let f32 = Array.map float32
let f64 = Array.map float

let shapes =
    [ // name, batch, h, w, cin, kh, kw, cout, stride, padding
      "LeNet conv1 (batch 2)", 2, 28, 28, 1, 5, 5, 6, 1, Padding.Valid
      "LeNet conv2 (batch 2)", 2, 14, 14, 6, 5, 5, 16, 1, Padding.Valid
      "same, odd kernel", 1, 7, 9, 3, 3, 3, 4, 1, Padding.Same
      "same, even kernel, stride 2", 2, 8, 7, 2, 4, 2, 3, 2, Padding.Same
      "valid, stride 3", 1, 11, 10, 2, 3, 2, 5, 3, Padding.Valid
      "pointwise 1x1", 2, 5, 4, 7, 1, 1, 3, 1, Padding.Valid
      "kernel as big as the image", 1, 4, 4, 2, 4, 4, 2, 1, Padding.Valid ]

let convCase (name, batch, h, w, cin, kh, kw, cout, stride, padding) =
    test name {
        let s = Conv2dShape.Create(batch, h, w, cin, kh, kw, cout, stride, stride, padding)
        let x = randoms 1 s.InputLength
        let k = randoms 2 s.KernelLength
        let dy = randoms 3 s.OutputLength
        let ws = Array.zeroCreate<float32> s.WorkspaceLength
        // forward
        let y = Array.zeroCreate s.OutputLength
        Conv2d.Forward(&s, ReadOnlySpan(f32 x), ReadOnlySpan(f32 k), Span y, Span ws)
        let yRef = naiveConv s (f64 (f32 x)) (f64 (f32 k))
        for i in 0 .. y.Length - 1 do
            Expect.floatClose { absolute = convTol; relative = convTol } (float y[i]) yRef[i] (sprintf "y[%d]" i)
        // gradients: L = <dy, conv(x, k)>; directional derivative along v by central differences in float64
        let dk = Array.zeroCreate s.KernelLength
        Conv2d.BackwardKernel(&s, ReadOnlySpan(f32 x), ReadOnlySpan(f32 dy), Span dk, Span ws)
        let dx = Array.zeroCreate s.InputLength
        Conv2d.BackwardInput(&s, ReadOnlySpan(f32 dy), ReadOnlySpan(f32 k), Span dx, Span ws)
        let xs, ks, dys = f64 (f32 x), f64 (f32 k), f64 (f32 dy)
        let loss xv kv = dot dys (naiveConv s xv kv)
        let h = 1e-3
        let vk = randoms 4 s.KernelLength
        let fdK =
            (loss xs (Array.map2 (fun a v -> a + h * v) ks vk) - loss xs (Array.map2 (fun a v -> a - h * v) ks vk))
            / (2.0 * h)
        let vx = randoms 5 s.InputLength
        let fdX =
            (loss (Array.map2 (fun a v -> a + h * v) xs vx) ks - loss (Array.map2 (fun a v -> a - h * v) xs vx) ks)
            / (2.0 * h)
        let scale = float s.OutputLength * float s.PatchLength
        Expect.floatClose
            { absolute = fdTol * scale; relative = 1e-4 }
            (dot (f64 dk) vk)
            fdK
            "<dK, v> vs finite difference"
        Expect.floatClose
            { absolute = fdTol * scale; relative = 1e-4 }
            (dot (f64 dx) vx)
            fdX
            "<dX, v> vs finite difference"
    }

/// Shapes with enough work to split over images (odd batches split unevenly; 1x1 needs no workspace).
let threadShapes =
    [ "LeNet conv1, batch 25", 25, 28, 28, 1, 5, 5, 6, 1, Padding.Valid
      "LeNet conv1 same padding (direct kernels), batch 25", 25, 28, 28, 1, 5, 5, 6, 1, Padding.Same
      "LeNet conv2, batch 9", 9, 14, 14, 6, 5, 5, 16, 1, Padding.Valid
      "same, stride 2, batch 3", 3, 40, 40, 8, 3, 3, 16, 2, Padding.Same
      "pointwise 1x1, batch 5", 5, 32, 32, 16, 1, 1, 32, 1, Padding.Valid
      "LeNet conv2 same padding, batch 64", 64, 14, 14, 6, 5, 5, 16, 1, Padding.Same
      "LeNet conv1 same padding, batch 64", 64, 28, 28, 1, 5, 5, 6, 1, Padding.Same ]

let threadCase (name, batch, h, w, cin, kh, kw, cout, stride, padding) =
    test name {
        let s = Conv2dShape.Create(batch, h, w, cin, kh, kw, cout, stride, stride, padding)
        let x, k, dy = f32 (randoms 1 s.InputLength), f32 (randoms 2 s.KernelLength), f32 (randoms 3 s.OutputLength)
        let bias = f32 (randoms 4 s.OutChannels)
        let run threads =
            let ws = Array.zeroCreate<float32> s.WorkspaceLength
            let y = Array.zeroCreate s.OutputLength
            Conv2d.Forward(
                &s,
                ReadOnlySpan x,
                ReadOnlySpan k,
                Span y,
                Span ws,
                ReadOnlySpan bias,
                Activation.Relu,
                threads
            )
            let dk = Array.create s.KernelLength 0.5f // beta = 1 accumulates onto it
            Conv2d.BackwardKernel(&s, ReadOnlySpan x, ReadOnlySpan dy, Span dk, Span ws, 1f, threads)
            let dx = Array.create s.InputLength nanf
            Conv2d.BackwardInput(&s, ReadOnlySpan dy, ReadOnlySpan k, Span dx, Span ws, threads)
            y, dk, dx
        let (y1, dk1, dx1), (y2, dk2, dx2) = run 1, run 2
        // Bit for bit: every element is summed in the same order whatever the thread count (the kernel gradient's
        // chunks over images are cut by the shape alone).
        for what, a, b in [ "forward", y1, y2; "dKernel", dk1, dk2; "dInput", dx1, dx2 ] do
            for i in 0 .. a.Length - 1 do
                if BitConverter.SingleToInt32Bits a[i] <> BitConverter.SingleToInt32Bits b[i] then
                    failtestf "%s[%d]: 1 thread %.9g, 2 threads %.9g" what i a[i] b[i]
    }

/// One input channel at stride 1 runs on the direct kernels (Conv2dDirect.cs): output widths below, at and across a
/// vector (16), even and odd kernels, both paddings, 1..16 output channels (one and two groups of 8).
let directShapes =
    [ "direct: LeNet conv1 same (batch 3)", 3, 28, 28, 1, 5, 5, 6, 1, Padding.Same
      "direct: 1x1", 2, 5, 4, 1, 1, 1, 3, 1, Padding.Valid
      "direct: width 16 exactly", 1, 18, 18, 1, 3, 3, 8, 1, Padding.Valid
      "direct: width 17, 16 channels", 2, 6, 17, 1, 3, 3, 16, 1, Padding.Same
      "direct: even 2x4 kernel, 9 channels", 1, 9, 33, 1, 2, 4, 9, 1, Padding.Same
      "direct: one output channel, tall kernel", 2, 12, 5, 1, 7, 1, 1, 1, Padding.Valid
      "direct: kernel as big as the image", 1, 6, 6, 1, 6, 6, 2, 1, Padding.Valid
      "direct 16 channels: LeNet conv2 same (batch 2)", 2, 14, 14, 6, 5, 5, 16, 1, Padding.Same
      "direct 32 channels: odd width, even kernel", 1, 7, 11, 3, 4, 2, 32, 1, Padding.Same ]

/// The direct kernels against im2col + GEMM on the same call: fused bias and each activation forward, beta
/// accumulation for the kernel gradient.
let directAgrees (batch, h, w, kh, kw, cout, padding) (act: Activation) =
    test (sprintf "%dx%dx%d, %dx%d -> %d, %A, %A" batch h w kh kw cout padding act) {
        let s = Conv2dShape.Create(batch, h, w, 1, kh, kw, cout, 1, 1, padding)
        // the direct kernels are AVX-512 code: without it the engine runs im2col, and there is nothing to compare
        if not System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated then skiptest "the direct kernels need AVX-512"
        Expect.isTrue (Conv2d.IsDirect(&s)) "runs on the direct kernels"
        let x, k, dy = f32 (randoms 11 s.InputLength), f32 (randoms 12 s.KernelLength), f32 (randoms 13 s.OutputLength)
        let bias = f32 (randoms 14 cout)
        let ws = Array.zeroCreate<float32> s.WorkspaceLength
        let run direct =
            Conv2d.UseDirect <- direct
            try
                let y = Array.create s.OutputLength nanf
                Conv2d.Forward(&s, ReadOnlySpan x, ReadOnlySpan k, Span y, Span ws, ReadOnlySpan bias, act)
                let dk = Array.create s.KernelLength 0.25f
                Conv2d.BackwardKernel(&s, ReadOnlySpan x, ReadOnlySpan dy, Span dk, Span ws, 1f)
                y, dk
            finally Conv2d.UseDirect <- true
        let (y1, dk1), (y2, dk2) = run true, run false
        for what, a, b in [ "forward", y1, y2; "dKernel", dk1, dk2 ] do
            for i in 0 .. a.Length - 1 do
                if not (abs (float a[i] - float b[i]) <= 1e-4 * (1.0 + abs (float b[i]))) then
                    failtestf "%s[%d]: direct %g, im2col %g" what i a[i] b[i]
    }

/// The direct kernels for output channels in vectors of 16 (Conv2dWide*.cs) against im2col + GEMM on the same call:
/// output widths below, at and across 8 pixels, both paddings, one and two vectors of channels, bias and activation;
/// the kernel gradient accumulating (beta 1), the input gradient where it runs direct.
let wideAgrees (batch, h, w, cin, kh, kw, cout, padding) (act: Activation) =
    test (sprintf "%dx%dx%dx%d, %dx%d -> %d, %A, %A" batch h w cin kh kw cout padding act) {
        let s = Conv2dShape.Create(batch, h, w, cin, kh, kw, cout, 1, 1, padding)
        if not System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated then skiptest "the direct kernel needs AVX-512"
        Expect.isTrue (Conv2d.IsDirectWide(&s)) "runs on the direct kernel"
        let x, k = f32 (randoms 31 s.InputLength), f32 (randoms 32 s.KernelLength)
        let bias = f32 (randoms 34 cout)
        let ws = Array.zeroCreate<float32> s.WorkspaceLength
        let dy = f32 (randoms 33 s.OutputLength)
        let run direct withBias =
            Conv2d.UseDirect <- direct
            try
                let y = Array.create s.OutputLength nanf
                let b = if withBias then ReadOnlySpan bias else ReadOnlySpan.Empty
                Conv2d.Forward(&s, ReadOnlySpan x, ReadOnlySpan k, Span y, Span ws, b, act)
                let dk = Array.create s.KernelLength 0.25f
                Conv2d.BackwardKernel(&s, ReadOnlySpan x, ReadOnlySpan dy, Span dk, Span ws, 1f)
                let dx = Array.create s.InputLength nanf
                Conv2d.BackwardInput(&s, ReadOnlySpan dy, ReadOnlySpan k, Span dx, Span ws)
                [ "forward", y; "dKernel", dk; "dInput", dx ]
            finally Conv2d.UseDirect <- true
        for withBias in [ false; true ] do
            for (what, a), (_, b) in List.zip (run true withBias) (run false withBias) do
                for i in 0 .. a.Length - 1 do
                    if not (abs (float a[i] - float b[i]) <= 1e-4 * (1.0 + abs (float b[i]))) then
                        failtestf "%s[%d] (bias %b): direct %g, im2col %g" what i withBias a[i] b[i]
    }

[<Tests>]
let tests =
    testList "Runtime.Kernels.Conv" [
        testList "conv2d forward, kernel and input gradients" [ for c in shapes -> convCase c ]
        testList "two threads split the batch and agree with one bit for bit" [ for c in threadShapes -> threadCase c ]
        test (
            "two threads give the same kernel gradient bit for bit on every call, whichever thread takes which images"
        ) {
            for s in [ Conv2dShape.Create(64, 28, 28, 1, 5, 5, 6, 1, 1, Padding.Same)
                       Conv2dShape.Create(64, 14, 14, 6, 5, 5, 16, 1, 1, Padding.Valid) ] do
                let x, dy = f32 (randoms 21 s.InputLength), f32 (randoms 22 s.OutputLength)
                let ws = Array.zeroCreate<float32> s.WorkspaceLength
                let run () =
                    let dk = Array.create s.KernelLength 0.5f
                    Conv2d.BackwardKernel(&s, ReadOnlySpan x, ReadOnlySpan dy, Span dk, Span ws, 0.9f, 2)
                    dk
                let first = run ()
                for _ in 1 .. 20 do Expect.sequenceEqual (run ()) first "the same sums in the same order"
        }
        testList "direct kernels (one input channel): forward and gradients against the definition" [
            for c in directShapes -> convCase c
        ]
        testList "direct kernels for 16 output channels agree with im2col" [
            for shape in
                [ (2, 14, 14, 6, 5, 5, 16, Padding.Same)
                  (1, 9, 13, 3, 3, 3, 32, Padding.Valid)
                  (2, 5, 17, 2, 2, 4, 16, Padding.Same)
                  (1, 8, 8, 5, 1, 3, 16, Padding.Valid)
                  (3, 6, 9, 7, 3, 5, 16, Padding.Same)
                  (1, 4, 30, 3, 3, 3, 48, Padding.Explicit(1)) ] do
                for act in [ Activation.Identity; Activation.Relu; Activation.Tanh ] -> wideAgrees shape act
        ]
        testList "direct kernels agree with im2col" [
            for shape in
                [ (2, 28, 28, 5, 5, 6, Padding.Same)
                  (3, 10, 20, 3, 3, 16, Padding.Valid)
                  (1, 7, 40, 2, 5, 11, Padding.Valid) ] do
                for act in [ Activation.Identity; Activation.Relu; Activation.Tanh; Activation.Sigmoid ] ->
                    directAgrees shape act
        ]

        test "fused bias + relu matches separate steps" {
            let s = Conv2dShape.Create(2, 9, 9, 3, 3, 3, 5, 1, 1, Padding.Same)
            let x, k, b = f32 (randoms 6 s.InputLength), f32 (randoms 7 s.KernelLength), f32 (randoms 8 5)
            let ws = Array.zeroCreate s.WorkspaceLength
            let fused, plain = Array.zeroCreate s.OutputLength, Array.zeroCreate s.OutputLength
            Conv2d.Forward(&s, ReadOnlySpan x, ReadOnlySpan k, Span fused, Span ws, ReadOnlySpan b, Activation.Relu)
            Conv2d.Forward(&s, ReadOnlySpan x, ReadOnlySpan k, Span plain, Span ws)
            for i in 0 .. plain.Length - 1 do
                Expect.floatClose
                    Accuracy.high
                    (float fused[i])
                    (float (max (plain[i] + b[i % 5]) 0f))
                    (sprintf "y[%d]" i)
        }

        test "same padding keeps ceil(h / stride)" {
            let s = Conv2dShape.Create(1, 7, 8, 1, 4, 3, 1, 2, 2, Padding.Same)
            Expect.equal
                (s.OutHeight, s.OutWidth, s.PadTop, s.PadLeft)
                (4, 4, 1, 0)
                "7→4 (pad 3: 1 top), 8→4 (pad 1: 0 left)"
        }

        test "a kernel larger than a valid image is refused" {
            Expect.throwsT<ArgumentException>
                (fun () -> Conv2dShape.Create(1, 3, 3, 1, 5, 5, 1, 1, 1, Padding.Valid) |> ignore) "5x5 on 3x3"
        }

        testList "pooling: any window, stride and padding against the definition; gradients route and spread" [
            for (batch, h, w, c, size, stride, padding) in
                [ (2, 4, 4, 3, 2, 2, Padding.Valid); (1, 7, 5, 2, 2, 2, Padding.Valid)
                  (2, 28, 28, 6, 2, 2, Padding.Valid); (1, 9, 9, 17, 3, 3, Padding.Valid)
                  (2, 8, 8, 3, 3, 2, Padding.Same); (1, 7, 10, 2, 3, 1, Padding.Same)
                  (1, 9, 6, 4, 2, 3, Padding.Same); (2, 6, 7, 2, 3, 2, Padding.Explicit(1))
                  (1, 5, 5, 1, 4, 1, Padding.Explicit(2, 0, 1, 2)) ] do
                test (sprintf "%dx%dx%dx%d size %d stride %d %A" batch h w c size stride padding) {
                    let s = Pool2dShape.Create(batch, h, w, c, size, stride, padding)
                    let g = s.Geometry
                    let x = f32 (randoms (h * w + c) s.InputLength)
                    let y, avg = Array.create s.OutputLength nanf, Array.create s.OutputLength nanf
                    Pool2d.MaxForward(&s, ReadOnlySpan x, Span y)
                    Pool2d.AvgForward(&s, ReadOnlySpan x, Span avg)
                    let at n iy ix ch = ((n * h + iy) * w + ix) * c + ch
                    // the window's cells inside the image, row-major: padded cells take no part
                    let window n oy ox ch =
                        [ for dy in 0 .. size - 1 do
                            for dx in 0 .. size - 1 do
                              let iy, ix = oy * stride + dy - g.PadTop, ox * stride + dx - g.PadLeft
                              if iy >= 0 && iy < h && ix >= 0 && ix < w then yield at n iy ix ch ]
                    let g' = f32 (randoms 9 s.OutputLength)
                    let expectedMax = Array.zeroCreate x.Length
                    for n in 0 .. batch - 1 do
                        for oy in 0 .. g.OutHeight - 1 do
                            for ox in 0 .. g.OutWidth - 1 do
                                for ch in 0 .. c - 1 do
                                    let o = ((n * g.OutHeight + oy) * g.OutWidth + ox) * c + ch
                                    let cells = window n oy ox ch
                                    let best = cells |> List.maxBy (fun i -> x[i])
                                    Expect.equal y[o] x[best] "max"
                                    Expect.floatClose
                                        poolTol
                                        (float avg[o])
                                        (cells |> List.averageBy (fun i -> float x[i]))
                                        "avg"
                                    expectedMax[best] <- expectedMax[best] + g'[o]
                    // backward: max routes each gradient to its window's first maximum; avg is the adjoint of the
                    // forward
                    let dxMax, dxAvg = Array.create x.Length nanf, Array.create x.Length nanf
                    Pool2d.MaxBackward(&s, ReadOnlySpan x, ReadOnlySpan g', Span dxMax)
                    Pool2d.AvgBackward(&s, ReadOnlySpan g', Span dxAvg)
                    Expect.equal dxMax expectedMax "max backward"
                    let v = f32 (randoms 10 x.Length)
                    let avgV = Array.zeroCreate s.OutputLength
                    Pool2d.AvgForward(&s, ReadOnlySpan v, Span avgV)
                    Expect.floatClose
                        Accuracy.medium
                        (dot (f64 avgV) (f64 g'))
                        (dot (f64 v) (f64 dxAvg))
                        "<avg(v), g> = <v, avgBack(g)>"
                }
        ]

        testList "max pooling without padding (Pool2dMax.cs) agrees with the generic loop bit for bit" [
            // channels below, at and across a Vector256 (8); overlapping windows (stride < size); ties (relu zeros,
            // few distinct values) and NaNs, where the first maximum must take the gradient
            for (batch, h, w, c, size, stride) in
                [ (2, 28, 28, 6, 2, 2); (3, 14, 14, 16, 2, 2); (1, 7, 9, 17, 3, 2); (2, 5, 6, 8, 2, 1)
                  (1, 9, 9, 1, 3, 3); (1, 6, 6, 9, 4, 1) ] do
                for values in [ "random"; "ties"; "nans" ] ->
                    test (sprintf "%dx%dx%dx%d size %d stride %d, %s" batch h w c size stride values) {
                        let s = Pool2dShape.Create(batch, h, w, c, size, stride, Padding.Valid)
                        let rng = Random(h * w + c)
                        let x =
                            Array.init s.InputLength (fun _ ->
                                match values with
                                | "random" -> float32 (rng.NextDouble() * 2.0 - 1.0)
                                | "ties" -> float32 (max 0 (rng.Next 5 - 2))
                                | _ -> if rng.Next 4 = 0 then nanf else float32 (rng.Next 3))
                        let g = f32 (randoms 9 s.OutputLength)
                        let run direct =
                            Pool2d.UseDirect <- direct
                            try
                                let y, dx = Array.create s.OutputLength 7f, Array.create s.InputLength nanf
                                Pool2d.MaxForward(&s, ReadOnlySpan x, Span y)
                                Pool2d.MaxBackward(&s, ReadOnlySpan x, ReadOnlySpan g, Span dx)
                                y, dx
                            finally Pool2d.UseDirect <- true
                        let (y1, dx1), (y2, dx2) = run true, run false
                        for what, a, b in [ "forward", y1, y2; "backward", dx1, dx2 ] do
                            for i in 0 .. a.Length - 1 do
                                if BitConverter.SingleToInt32Bits a[i] <> BitConverter.SingleToInt32Bits b[i] then
                                    failtestf "%s[%d]: direct %.9g, generic %.9g" what i a[i] b[i]
                    }
        ]
    ]
