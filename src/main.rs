fn main() {
    sparecloud_web::start();
}
