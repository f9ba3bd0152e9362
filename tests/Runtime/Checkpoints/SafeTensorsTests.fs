module Nn.Tests.Runtime.Checkpoints.SafeTensorsTests

open System
open System.Collections.Generic
open System.IO
open System.Text
open Expecto
open FsCheck
open FsCheck.FSharp
open Nn.Runtime.Data
open Nn.Runtime.Checkpoints

let private withTemp f = Nn.Tests.TestUtil.withTempDir "nn-st-" f

let private dataError f = Nn.Tests.TestUtil.dataError f

let private kv (name: string) (t: RawTensor) = KeyValuePair(name, t)

/// A safetensors file from a header text and data bytes, padded as the reference writer pads.
let private file (header: string) (data: byte[]) =
    let h = Encoding.UTF8.GetBytes header
    Array.concat [ BitConverter.GetBytes(uint64 h.Length); h; data ]

let private parse bytes = SafeTensors.Parse(bytes, "model.safetensors")

/// Named tensors of random types and shapes, with names like parameter paths, and random metadata.
let private checkpoints =
    let tensor =
        gen {
            let! rank = Gen.choose (0, 3)
            let! shape = Gen.arrayOfLength rank (Gen.choose (0, 5))
            let n = shape |> Array.fold (*) 1
            let! kind =
                Gen.elements [ ElementType.F32; ElementType.F64; ElementType.I32; ElementType.I64; ElementType.U8 ]
            let! bytes = Gen.arrayOfLength (n * RawTensor.SizeOf kind) (Gen.choose (0, 255) |> Gen.map byte)
            return RawTensor(kind, shape, bytes)
        }
    gen {
        let! count = Gen.choose (0, 6)
        let! tensors = Gen.listOfLength count tensor
        let! metaCount = Gen.choose (0, 3)
        let! values = Gen.listOfLength metaCount (ArbMap.defaults |> ArbMap.generate<NonNull<string>>)
        let names = [ for i in 0 .. count - 1 -> $"tower.dense{i}.{(if i % 2 = 0 then 'w' else 'b')}" ]
        let meta = values |> List.mapi (fun i v -> $"key{i}", v.Get) |> dict
        return List.zip names tensors, meta
    }
    |> Arb.fromGen

let private config = { FsCheckConfig.defaultConfig with maxTest = 100 }

let private valid = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}"

[<Tests>]
let tests =
    testList "Runtime.Checkpoints.SafeTensors" [
        test "the file layout is the reference format: length, compact JSON padded to 8 bytes, data" {
            let bytes =
                SafeTensors.Encode([ kv "dense1.w" (RawTensor.FromFloats([| 2 |], ReadOnlySpan [| 1.0f; 2.0f |])) ],
                                   dict [ "epoch", "3" ] :?> IReadOnlyDictionary<string, string>)
            let json = "{\"__metadata__\":{\"epoch\":\"3\"},\"dense1.w\":{\"dtype\":\"F32\",\"shape\":[2],\
                        \"data_offsets\":[0,8]}}"
            let padded = json.PadRight((json.Length + 7) / 8 * 8)
            Expect.equal bytes (file padded (Array.append (BitConverter.GetBytes 1.0f) (BitConverter.GetBytes 2.0f)))
                "bytes"
        }
        testPropertyWithConfig config "tensors and metadata survive a write and a read" <|
            Prop.forAll checkpoints (fun (tensors, meta) ->
                withTemp (fun dir ->
                    let p = Path.Combine(dir, "ck.safetensors")
                    SafeTensors.Write(p, tensors |> List.map (fun (n, t) -> kv n t),
                                      meta :?> IReadOnlyDictionary<string, string>)
                    let back = SafeTensors.Read p
                    List.ofSeq back.Names = List.map fst tensors
                    && tensors
                       |> List.forall (fun (n, t) ->
                           let b = back.[n] in b.Type = t.Type && b.Shape = t.Shape && b.Bytes = t.Bytes)
                    && back.Metadata.Count = meta.Count
                    && meta |> Seq.forall (fun m -> back.Metadata.[m.Key] = m.Value)))
        testPropertyWithConfig config "a read into float arrays gives every tensor as ToHost converts it (#18.6)" <|
            Prop.forAll checkpoints (fun (tensors, meta) ->
                withTemp (fun dir ->
                    let p = Path.Combine(dir, "ck.safetensors")
                    SafeTensors.Write(p, tensors |> List.map (fun (n, t) -> kv n t),
                                      meta :?> IReadOnlyDictionary<string, string>)
                    let raw = SafeTensors.Read p
                    let floats = SafeTensors.Read(p, null, true)
                    // F32 tensors are handed over as read, the others converted; NaN payloads compared as bits
                    let bits (t: HostTensor) = t.Data |> Array.map BitConverter.SingleToInt32Bits
                    List.ofSeq floats.Names = List.map fst tensors
                    && floats.Metadata.Count = meta.Count
                    && tensors |> List.forall (fun (n, t) ->
                        let want = raw.[n].ToHost()
                        let got = floats.ToHost n
                        floats.ShapeOf n = t.Shape && got.Shape = want.Shape && bits got = bits want
                        && (t.Type = ElementType.F32) = not (floats.Tensors.ContainsKey n))))
        test "a float tensor reads back as the same floats" {
            let w = RawTensor.FromHost(HostTensor([| 2; 2 |], [| 1.0f; -2.0f; 0.5f; 1e-20f |]))
            let ck = parse (SafeTensors.Encode [ kv "w" w ])
            Expect.equal (ck.["w"].ToHost().Data) [| 1.0f; -2.0f; 0.5f; 1e-20f |] "values"
            Expect.equal ck.Metadata.Count 0 "no metadata"
        }
        test "a host tensor is written as its values are when written (not copied before), its bytes those values" {
            let values = [| 1.0f; -2.0f; 0.5f; 1e-20f |]
            let w = RawTensor.FromHost(HostTensor([| 2; 2 |], values))
            values[1] <- 3.0f
            let ck = parse (SafeTensors.Encode [ kv "w" w ])
            Expect.equal (ck.["w"].ToHost().Data) [| 1.0f; 3.0f; 0.5f; 1e-20f |] "values at the write"
            Expect.equal w.Bytes (values |> Array.collect (fun (v: float32) -> BitConverter.GetBytes v)) "bytes"
            Expect.equal (w.Span.ToArray()) w.Bytes "the writer's view"
        }
        test "a missing checkpoint is NN0701" {
            withTemp (fun dir ->
                let p = Path.Combine(dir, "model.safetensors")
                let e = dataError (fun () -> SafeTensors.Read p)
                Expect.equal (e.Code, e.Message) ("NN0701", $"model.safetensors: file not found (looked \
                                                              for {p})") "missing")
        }
        test "a file shorter than the length field" {
            let e = dataError (fun () -> parse [| 1uy; 2uy; 3uy; 4uy; 5uy |])
            Expect.equal (e.Code, e.Message) ("NN0702", "model.safetensors: truncated: a safetensors file starts with \
                                                         an 8-byte header length, found 5 bytes") "short"
        }
        test "a header length past the end of the file" {
            let e = dataError (fun () -> parse (Array.append (BitConverter.GetBytes 1000UL) (Array.zeroCreate 40)))
            Expect.equal (e.Code, e.Message) ("NN0702", "model.safetensors: the header length is 1000 bytes but only \
                                                         40 bytes follow it") "too long"
        }
        test "a header that is not JSON names the byte" {
            let e = dataError (fun () -> parse (file "{\"w\": xyz}" [||]))
            Expect.equal (e.Code, e.Message) ("NN0703", "model.safetensors: the header is not valid JSON (error at \
                                                         byte 14)") "bad JSON"
            Expect.equal (e.ByteOffset |> Option.ofNullable) (Some 14L) "offset"
        }
        test "a header with a byte that is not UTF-8 is NN0703, not an internal error" {
            let bytes = file "{\"__metadata__\":{\"k\":\"a?b\"}}" [||]
            bytes[8 + 23] <- 0xC3uy // a lead byte without its continuation, inside a string
            let e = dataError (fun () -> parse bytes)
            Expect.equal (e.Code, e.Message) ("NN0703", "model.safetensors: the header is not valid UTF-8 (at byte \
                                                         31)") "message"
        }
        test "a header entry without the tensor fields" {
            let e = dataError (fun () -> parse (file "{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}" (Array.zeroCreate 8)))
            Expect.equal (e.Code, e.Message)
                ("NN0703", "model.safetensors: tensor `w` in the header must be {\"dtype\": string, \"shape\": \
                            [sizes], \"data_offsets\": [begin, end]}") "layout"
        }
        test "offsets past the data section" {
            let e = dataError (fun () -> parse (file valid (Array.zeroCreate 12)))
            Expect.equal (e.Code, e.Message) ("NN0704", "model.safetensors: tensor `w` has data_offsets [0, 16] but \
                                                         the data section holds 12 bytes") "past the end"
        }
        test "offsets that disagree with the dtype and shape" {
            let header = "{\"w\":{\"dtype\":\"F64\",\"shape\":[2,2],\"data_offsets\":[0,16]}}"
            let e = dataError (fun () -> parse (file header (Array.zeroCreate 16)))
            Expect.equal (e.Code, e.Message)
                ("NN0704", "model.safetensors: tensor `w` is F64 [2, 2], which needs 32 bytes, but its data_offsets \
                            [0, 16] span 16") "size"
        }
        test "an absurd shape cannot overflow the size check" {
            let header =
                "{\"w\":{\"dtype\":\"U8\",\"shape\":[2147483647,2147483647,2147483647],\"data_offsets\":[0,4]}}"
            let e = dataError (fun () -> parse (file header (Array.zeroCreate 4)))
            Expect.equal e.Code "NN0704" "code"
        }
        test "an unsupported dtype lists the supported ones" {
            let header = "{\"w\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,4]}}"
            let e = dataError (fun () -> parse (file header (Array.zeroCreate 4)))
            Expect.equal (e.Code, e.Message) ("NN0705", "model.safetensors: tensor `w` has dtype BF16; supported are \
                                                         F32, F64, I32, I64 and U8") "dtype"
        }
        test "a checkpoint cut short on disk is reported, not misread" {
            withTemp (fun dir ->
                let p = Path.Combine(dir, "model.safetensors")
                let a = RawTensor.FromFloats([| 4 |], ReadOnlySpan [| 1.0f; 2.0f; 3.0f; 4.0f |])
                let whole = SafeTensors.Encode [ kv "a" a ]
                File.WriteAllBytes(p, whole.[.. whole.Length - 5])
                let e = dataError (fun () -> SafeTensors.Read p)
                Expect.equal (e.Code, e.Message) ("NN0704", "model.safetensors: tensor `a` has data_offsets [0, 16] \
                                                             but the data section holds 12 bytes") "cut")
        }
        test "a header length over the limit is refused before the file is read (#16.7)" {
            withTemp (fun dir ->
                // A sparse 150 MB file whose length field claims all of it as the header: nothing of that size may
                // be allocated (the whole file was read into memory before).
                let p = Path.Combine(dir, "model.safetensors")
                let size = 150_000_000L
                using (new FileStream(p, FileMode.CreateNew)) (fun s ->
                    let b = BitConverter.GetBytes(uint64 (size - 8L)) in s.Write(b, 0, b.Length)
                    s.SetLength size)
                let before = GC.GetAllocatedBytesForCurrentThread()
                let e = dataError (fun () -> SafeTensors.Read p)
                let allocated = GC.GetAllocatedBytesForCurrentThread() - before
                Expect.equal (e.Code, e.Message)
                    ("NN0702", "model.safetensors: the header length is 149999992 bytes, more than the format's limit \
                                of 100000000 bytes") "refused"
                Expect.isLessThan allocated 1_000_000L (sprintf "allocated %d bytes" allocated))
        }
        test "a tensor is read from the file without holding the whole file (#16.7)" {
            withTemp (fun dir ->
                // 40 MB of data, of which the header names only 16 bytes: reading allocates about what it keeps.
                let p = Path.Combine(dir, "model.safetensors")
                let header = valid.PadRight 64
                using (new FileStream(p, FileMode.CreateNew)) (fun s ->
                    let bytes =
                        Array.concat [ BitConverter.GetBytes(uint64 header.Length); Encoding.UTF8.GetBytes header
                                       BitConverter.GetBytes 1.0f; BitConverter.GetBytes 2.0f
                                       BitConverter.GetBytes 3.0f; BitConverter.GetBytes 4.0f ]
                    s.Write(bytes, 0, bytes.Length)
                    s.SetLength 40_000_000L)
                let before = GC.GetAllocatedBytesForCurrentThread()
                let ck = SafeTensors.Read p
                let allocated = GC.GetAllocatedBytesForCurrentThread() - before
                Expect.equal (ck.["w"].ToHost().Data) [| 1.0f; 2.0f; 3.0f; 4.0f |] "values"
                Expect.isLessThan allocated 1_000_000L (sprintf "allocated %d bytes" allocated))
        }
        test "overlapping data_offsets are NN0704 naming both tensors (#16.7)" {
            let header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\
                          \"shape\":[2],\"data_offsets\":[4,12]}}"
            let e = dataError (fun () -> parse (file header (Array.zeroCreate 12)))
            Expect.equal (e.Code, e.Message) ("NN0704", "model.safetensors: tensors `a` (data_offsets [0, 8]) and `b` \
                                                         ([4, 12]) overlap") "overlap"
            let same = "{\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"a\":{\"dtype\":\"U8\",\
                        \"shape\":[8],\"data_offsets\":[0,8]}}"
            let e = dataError (fun () -> parse (file same (Array.zeroCreate 8)))
            Expect.equal e.Code "NN0704" "two names for the same bytes"
            let empty = "{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]},\"b\":{\"dtype\":\"F32\",\
                         \"shape\":[2],\"data_offsets\":[0,8]}}"
            Expect.equal (List.ofSeq (parse (file empty (Array.zeroCreate 8))).Names) [ "a"; "b" ]
                "an empty tensor overlaps nothing"
        }
        test "a filtered read reads only the wanted tensors' bytes, and the metadata alone reads none (#18.6)" {
            withTemp (fun dir ->
                let path = Path.Combine(dir, "w.safetensors")
                let w = RawTensor.FromHost(HostTensor([| 2; 2 |], [| 1f; 2f; 3f; 4f |]))
                let m = RawTensor.FromHost(HostTensor([| 3 |], [| 5f; 6f; 7f |]))
                let meta = readOnlyDict [ "sets", "epochs=2" ]
                SafeTensors.Write(path, [ kv "dense.w" w; kv "dense.w.momentum" m ], meta)
                let ck = SafeTensors.Read(path, fun n -> n = "dense.w")
                Expect.equal (List.ofSeq ck.Names) [ "dense.w"; "dense.w.momentum" ] "every tensor is listed"
                Expect.equal (List.ofSeq ck.Tensors.Keys) [ "dense.w" ] "only the wanted one is held"
                Expect.equal (ck["dense.w"].ToHost().Data) [| 1f; 2f; 3f; 4f |] "its values"
                Expect.throwsT<InvalidOperationException> (fun () -> ck["dense.w.momentum"] |> ignore)
                    "asking for a tensor left unread is an internal error, not a missing tensor"
                Expect.equal (dataError (fun () -> ck["other"])).Code "NN0707" "a missing tensor is still NN0707"
                Expect.equal (Map.ofSeq [ for KeyValue(k, v) in SafeTensors.ReadMetadata path -> k, v ])
                    (Map.ofList [ "sets", "epochs=2" ]) "the metadata"
                // the header is validated as a whole read validates it
                let bad = Path.Combine(dir, "bad.safetensors")
                File.WriteAllBytes(bad, file "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}"
                                            (Array.zeroCreate 8))
                Expect.equal (dataError (fun () -> SafeTensors.ReadMetadata bad |> ignore)).Code
                    (dataError (fun () -> SafeTensors.Read bad |> ignore)).Code "offsets past the data: the same code")
        }
        test "asking for a tensor the checkpoint lacks lists what it holds" {
            let ck = parse (file valid (Array.zeroCreate 16))
            let e = dataError (fun () -> ck.["tower.dense2.w"])
            Expect.equal (e.Code, e.Message) ("NN0707", "model.safetensors: no tensor named `tower.dense2.w`; the \
                                                         checkpoint holds w") "missing tensor"
        }
    ]
