/// A tensor held as unsigned bytes (an IDX file of them) until its floats are asked for: the same values either way.
module Nn.Tests.Runtime.Data.HostTensorTests

open System
open Expecto
open FsCheck
open Nn.Runtime.Data

/// `rows` rows of `width` random bytes, as bytes and as the floats they stand for.
let private both (seed: int) rows width =
    let bytes = Array.zeroCreate<byte> (rows * width)
    Random(seed).NextBytes bytes
    HostTensor.OfBytes([| rows; width |], bytes), HostTensor([| rows; width |], Array.map float32 bytes)

let private config = { FsCheckConfig.defaultConfig with maxTest = 60 }

[<Tests>]
let tests =
    testList "Runtime.Data.HostTensor" [
        test "a tensor of bytes widens them to 0..255 once, when its floats are first asked for, and keeps those" {
            let t, floats = both 1 3 70
            Expect.isNotNull t.Bytes "held as bytes"
            Expect.equal t.Length 210 "its length, without widening"
            Expect.isNotNull t.Bytes "still bytes"
            let data = t.Data
            Expect.equal data floats.Data "the byte values as floats"
            Expect.isNull t.Bytes "no bytes once widened: what the floats say from then on"
            Expect.isTrue (obj.ReferenceEquals(data, t.Data)) "widened once"
            Expect.equal (t.Row(2).ToArray()) (floats.Row(2).ToArray()) "a row"
        }
        test "a tensor of floats has no bytes, and a shape that does not fit the bytes is refused" {
            let _, floats = both 2 2 3
            Expect.isNull floats.Bytes "floats"
            Expect.throwsT<ArgumentException> (fun () -> HostTensor.OfBytes([| 2; 4 |], Array.zeroCreate 6) |> ignore)
                "6 bytes are not [2, 4]"
            Expect.throwsT<ArgumentNullException> (fun () -> HostTensor.OfBytes([| 0 |], null) |> ignore) "no bytes"
        }
        testPropertyWithConfig config "rows sliced or gathered from bytes stay bytes and are the floats' rows" <|
            fun (seed: int) (PositiveInt rows) (PositiveInt width) (picks: NonNegativeInt list) ->
                let rows, width = 1 + rows % 40, 1 + width % 100
                let t, floats = both seed rows width
                let start = (seed &&& 0x7fffffff) % rows
                let count = (rows - start) / 2
                let slice = t.SliceRows(start, count)
                Expect.isNotNull slice.Bytes "a slice of bytes is bytes"
                Expect.equal slice.Data (floats.SliceRows(start, count).Data) "the slice"
                let order = picks |> List.map (fun (NonNegativeInt k) -> k % rows) |> Array.ofList
                let gathered = t.GatherRows(ReadOnlySpan order)
                Expect.isNotNull gathered.Bytes "gathered bytes are bytes"
                Expect.equal gathered.Shape [| order.Length; width |] "one row a pick"
                Expect.equal gathered.Data (floats.GatherRows(ReadOnlySpan order).Data) "the gathered rows"
                Expect.isNotNull t.Bytes "the source was not widened"
    ]
