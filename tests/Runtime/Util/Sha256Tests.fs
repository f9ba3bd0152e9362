module Nn.Tests.Runtime.Util.Sha256Tests

open System
open System.Text
open Expecto
open Nn.Runtime.Util

let private hex (bytes: byte[]) = Convert.ToHexString(bytes).ToLowerInvariant()
let private sha (bytes: byte[]) = hex (Sha256.HashData(ReadOnlySpan bytes))
let private ascii (s: string) = Encoding.ASCII.GetBytes s

[<Tests>]
let tests =
    testList "Runtime.Util.Sha256" [
        // the examples of FIPS 180-4 (NIST's "SHA256.pdf"): one block, two blocks, and a million "a"s
        test "FIPS 180-4 examples" {
            Expect.equal (sha (ascii "abc"))
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" "abc"
            Expect.equal (sha (ascii "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))
                "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" "448 bits"
            Expect.equal (sha (Array.create 1_000_000 (byte 'a')))
                "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0" "a million a's"
            Expect.equal (sha [||])
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" "empty"
        }
        // every length around the block and padding boundaries, against .NET's (OpenSSL's) SHA-256
        test "lengths 0..200 agree with System.Security.Cryptography" {
            let rng = Random 7
            for n in 0 .. 200 do
                let bytes = Array.zeroCreate<byte> n
                rng.NextBytes bytes
                Expect.equal (sha bytes) (hex (Security.Cryptography.SHA256.HashData bytes)) (sprintf "length %d" n)
        }
        testProperty "any bytes agree with System.Security.Cryptography" (fun (bytes: byte[]) ->
            sha bytes = hex (Security.Cryptography.SHA256.HashData bytes))
    ]
