// Package password hashes and verifies user passwords.
//
// New hashes are argon2id (RFC 9106) in the PHC string format that
// libargon2, passlib and argon2-cffi use:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>
//
// with salt and key in unpadded standard base64. Existing bcrypt hashes
// ($2a$, $2b$ and $2y$, as passlib stores them) still verify, and [Verify]
// reports that they — and argon2id hashes with weaker parameters than the
// [Hasher]'s — should be replaced by a fresh hash after the next successful
// login.
//
// Password hashing is deliberately expensive in CPU and memory, so a
// [Hasher] bounds how many hashes run at once, and lets a caller wait for a
// slot only while the wait it can expect stays within a budget (2 s by
// default, measured against the recent hashes); beyond that it fails fast
// with [ErrBusy] instead of letting a flood of logins starve every other
// request, while a burst is still served in order.
//
// A [Worker] moves the hashing into a child process (the same program,
// started again, calling [RunWorkerIfChild] first), so that the memory and
// garbage collection of argon2id stay out of the process answering
// requests; on Linux every hash also runs on a thread of its own at the
// lowest priority (SCHED_IDLE, nice 19).
//
// The package stands alone so that the cost of hashing is controlled in one
// place. It imports the standard library, golang.org/x/crypto and (on Linux)
// golang.org/x/sys only.
package password
