/// Native memory in whole 2 MiB pages (HugeBuffer): curves.png's pixels. What is checked is what the caller relies
/// on: the length asked for, every byte of it writable and read back, the block 2 MiB aligned and rounded up to whole
/// 2 MiB pages (so the advice covers it all), freed once however often disposed.
module Nn.Tests.Runtime.Util.HugeBufferTests

open System
open System.Runtime.InteropServices
open Expecto
open Nn.Runtime.Util

let private huge = 2L <<< 20

[<Tests>]
let tests =
    testList "Runtime.Util.HugeBuffer" [
        test "every byte of the length asked is written and read back; the block starts on a 2 MiB boundary" {
            for length in [ 1L; 4095L; 1_800_000L; huge; huge + 1L; 5L * huge - 3L ] do
                use b = new HugeBuffer(length)
                Expect.equal b.Length length "the length asked"
                Expect.equal (int64 b.Pointer % huge) 0L (sprintf "%d bytes: 2 MiB aligned" length)
                let pattern = Array.init (int length) (fun i -> byte (i * 7 + 3))
                Marshal.Copy(pattern, 0, b.Pointer, pattern.Length)
                let back = Array.zeroCreate<byte> pattern.Length
                Marshal.Copy(b.Pointer, back, 0, back.Length)
                Expect.sequenceEqual back pattern (sprintf "%d bytes read back" length)
        }
        test "a block is whole 2 MiB pages, at least the bytes asked" {
            for bytes in [ 1UL; 4096UL; uint64 huge - 1UL; uint64 huge; uint64 huge + 1UL; 7UL * uint64 huge ] do
                let r = uint64 (HugeBuffer.Rounded(unativeint bytes))
                Expect.isGreaterThanOrEqual r bytes "room for the bytes asked"
                Expect.equal (r % uint64 huge) 0UL "whole 2 MiB pages"
                Expect.isLessThan (r - bytes) (uint64 huge) "less than one page more"
        }
        test "disposing twice frees once; a length of zero or less is refused" {
            let b = new HugeBuffer(100L)
            b.Dispose()
            b.Dispose()
            Expect.equal b.Pointer 0n "the pointer is cleared"
            Expect.throws (fun () -> new HugeBuffer(0L) |> ignore) "zero bytes"
            Expect.throws (fun () -> new HugeBuffer(-5L) |> ignore) "negative"
        }
    ]
