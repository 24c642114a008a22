// Package rpc is supervisord's HTTP face: the XML-RPC API of Supervisor
// 4.2.5 (the supervisor and system namespaces, 41 methods with their
// aliases), the /logtail and /mainlogtail streams, the /ok.html health
// check, Basic auth, and the unix and inet listeners. It reaches the
// daemon only through Backend (small interfaces, one per family of
// methods), which supervisord's engine implements. Every wire string is
// made here: engine errors become faults in one table (faults.go),
// process snapshots become getProcessInfo structs (encode_info.go),
// configured processes getAllConfigInfo structs with the reference's
// "none" and "auto" (methods.go).
//
// Wire compatibility: responses are byte for byte what Python's
// xmlrpc.client.dumps produces, faults carry Supervisor's own codes, and
// method names, signatures, namespec rules ("name", "group:name",
// "group:*", "group:") and the offset/length rules of the log methods
// are the reference's.
//
// Where the reference fails its clients we answer instead:
//   - A string holding bytes XML 1.0 cannot carry (invalid UTF-8, control
//     characters such as ESC from colour codes, U+FFFE/U+FFFF) would make
//     every XML parser reject the response. Each such byte or character
//     is sent as U+FFFD, so `supervisorctl tail` of any log works.
//   - A request that is not well-formed XML-RPC, or a parameter of the
//     wrong type, is an INCORRECT_PARAMETERS fault, never an HTTP 500.
//     Only an empty or short body is a plain 400.
//   - Request bodies are bounded (4 MiB by default, 413 beyond), only a
//     bounded prefix of a bad request is logged, and no DTD is ever read,
//     so no entity is expanded.
//
// The request scanner is our own (xmlscan.go): the XML-RPC subset of XML
// 1.0 without allocations for ordinary calls; FuzzDecodeRequest checks
// that whatever it accepts encoding/xml also finds well-formed.
package rpc
