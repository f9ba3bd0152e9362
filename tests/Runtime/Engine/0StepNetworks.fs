/// What the engine's step tests share: a dense ReLU network trained by SGD with momentum, and a bit-for-bit
/// comparison of two runs' values. The file's name sorts first so the other engine test files can use it.
module Nn.Tests.Runtime.Engine.StepNetworks

open System
open Expecto
open Nn.Runtime
open Nn.Runtime.IR
open Nn.Runtime.Training
open Nn.Runtime.Ops

let private sp = SourceSpan.None

/// A dense ReLU network of these layer sizes with softmax cross-entropy, trained by SGD with momentum 0.9; with
/// `scale`, its input divided by 255 first (`image / 255.0` of the examples: a fused loop before the first product).
let networkOf (scale: bool) (layers: int list) =
    let fwd (ctx: ForwardContext) =
        let b = ctx.Builder
        let mutable h = b.Input("x", Shape(Dim.Sym "n", Dim.Of layers.Head), sp)
        if scale then h <- b.Binary(OpKind.Div, h, b.Const(255.0, sp), sp)
        for i in 1 .. layers.Length - 1 do
            let w = b.Param(sprintf "w%d" i, Shape.Of(layers[i - 1], layers[i]), InitSpec("glorot"), sp)
            let bias = b.Param(sprintf "b%d" i, Shape.Of layers[i], InitSpec("uniform", -0.1, 0.1), sp)
            h <- b.Binary(OpKind.Add, b.MatMul(h, w, sp), bias, sp)
            if i < layers.Length - 1 then h <- b.Unary(OpKind.Relu, h, sp)
        h
    let spec = TrainSpec(Loss = LossKind.SoftmaxCrossEntropy, TargetShape = Shape(Dim.Sym "n"),
                         Optimizer = OptimizerSpec(Kind = OptimizerKind.Sgd, Lr = 0.05, Momentum = 0.9))
    TrainStep.Build(ForwardBuilder fwd, spec)

/// A dense ReLU network of these layer sizes with softmax cross-entropy, trained by SGD with momentum 0.9.
let network (layers: int list) = networkOf false layers

/// Fails unless `actual` holds the bits of `expected`, element by element (`a` and `b` name the two runs).
let sameBits (a: string) (b: string) (what: string) (expected: float32[]) (actual: float32[]) =
    Expect.equal actual.Length expected.Length (what + ": length")
    for i in 0 .. expected.Length - 1 do
        if BitConverter.SingleToInt32Bits expected[i] <> BitConverter.SingleToInt32Bits actual[i] then
            failtestf "%s[%d]: %s %.9g, %s %.9g" what i a expected[i] b actual[i]

/// A batch of `rows` random rows of `features` values in [0, 1) and their random classes below `classes`.
let randomBatch (rng: Random) rows features classes =
    let x = Array.init (rows * features) (fun _ -> float32 (rng.NextDouble()))
    Nn.Runtime.Data.HostTensor([| rows; features |], x),
    Nn.Runtime.Data.HostTensor([| rows |], Array.init rows (fun _ -> float32 (rng.Next classes)))

/// The fused executor of `network layers` on `threads` threads, its weights initialised with seed 1.
let executorOn (layers: int list) (threads: int) =
    let graphs = network layers
    Nn.Runtime.Executors.StepExecutor.Create(graphs, Initializers.ForGraph(graphs.Train, 1UL),
                                             ExecutorOptions(Threads = threads))
        :?> Nn.Runtime.Engine.FusedExecutor

/// `f ()` with a thread-static switch read at bind time set to true (`set` sets it), false again after.
let switchedOn (set: bool -> unit) f =
    set true
    try f () finally set false
