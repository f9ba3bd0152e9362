#nowarn "9" // the workspace's blocks are native pointers
/// A thread's packing workspace (GemmWorkspace, in GemmDriver.cs): reused from one product to the next.
module Nn.Tests.Runtime.Kernels.GemmDriverTests

open System.Threading.Tasks
open Microsoft.FSharp.NativeInterop
open Expecto
open Nn.Runtime.Kernels

[<Tests>]
let tests =
    testList "Runtime.Kernels.GemmDriver" [
        test "a thread's GEMM workspace has room for the deepest pass at once: a deeper pass reuses its A block" {
            // nn predict's mnist_mlp packs A at pass depth 392, then 512: one block, not fresh memory for the second
            let run () =
                let ws = GemmWorkspace.For(168, 392, 0un)
                let first = NativePtr.toNativeInt ws.A
                let capacity = ws.ACapacity
                let deeper = NativePtr.toNativeInt (GemmWorkspace.For(168, 512, 0un).A)
                capacity, first = deeper
            let capacity, same = Task.Factory.StartNew(run, TaskCreationOptions.LongRunning).Result
            Expect.isGreaterThanOrEqual capacity (168un * 512un) "room for 168 rows at depth 512 from the first"
            Expect.isTrue same "the same A block"
        }
    ]
