include!("../build/torch_link.rs");

fn main() {
    torch_link_args();
}
