//! Prints how golive reads Ansible inventories, one host per line, sorted by name, for
//! scripts/compare-inventory-with-ansible.py, which compares it with Ansible's own reading:
//!
//!     cargo run --example inventory_dump -- FILE...
//!
//! Each file starts with `== FILE`; a file golive refuses prints `ERROR message`.

fn main() {
    for arg in std::env::args().skip(1) {
        println!("== {arg}");
        match golive::fleet::inventory::load(std::path::Path::new(&arg)) {
            Ok(mut hosts) => {
                hosts.sort_by(|a, b| a.name.cmp(&b.name));
                for h in hosts {
                    let field = |v: Option<String>| v.unwrap_or_else(|| "-".into());
                    println!(
                        "{} host={} port={} user={} groups={}",
                        h.name,
                        field(h.host),
                        field(h.port.map(|p| p.to_string())),
                        field(h.user),
                        h.groups.join(",")
                    );
                }
            }
            Err(e) => println!("ERROR {}", e.located(std::path::Path::new(&arg))),
        }
    }
}
