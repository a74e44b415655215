// Package chaos is rpbus's reliability suite (`rpbus chaos`,
// scripts/reliability): it runs the product as a lab would, every part a
// process of its own on loopback with deploy/'s users and permissions
// and fresh `rpbus secrets`, and attacks it:
//
//   - fuzz: at least 300 bad bodies per endpoint and encoding (every field
//     with every wrong value of its kind, unknown and miscased fields,
//     malformed and truncated bodies, random combinations);
//   - load: many connections sending mixed requests at once;
//   - faults: kill -9 of the bridge, the scope and the simboard under
//     traffic, each restarted, a restart of the NATS server, and the loss
//     of the cluster node the services are on;
//   - security: every user against every subject, publish and subscribe,
//     against the accounts file; and inbox snooping while others work.
//
// Every request has a reply subject of its own, so the suite counts its
// replies: exactly one is "answered", none within the request's bound is
// "hung", two are a duplicate. It prints one table (Print); Failed says
// whether any goal was missed: a hung or duplicated request, a crashed
// process, a 500, a field-specific 400 that does not name its field, a
// permission other than the accounts file says, a reply read by another
// user. Everything is bounded in count and time.
package chaos
