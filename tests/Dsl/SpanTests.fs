module Nn.Tests.Dsl.SpanTests

open Expecto
open Nn.Dsl

[<Tests>]
let tests =
    testList "Dsl.Span" [
        test "union covers both spans" {
            let a = Span.make "f.nn" (1, 5) (1, 9)
            let b = Span.make "f.nn" (2, 1) (2, 3)
            let u = Span.union a b
            Expect.equal (u.Start, u.End) (a.Start, b.End) "union"
        }
    ]
