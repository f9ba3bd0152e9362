/// Small helpers shared by the tests.
module Nn.Tests.TestUtil

open System.IO

/// The repository root (the folder holding Dsl.sln), found from the test binary's location.
let repoRoot =
    let rec up (d: DirectoryInfo) =
        if isNull d then failwith "Dsl.sln not found above the test binary"
        elif File.Exists(Path.Combine(d.FullName, "Dsl.sln")) then d.FullName
        else up d.Parent
    up (DirectoryInfo(System.AppContext.BaseDirectory))
