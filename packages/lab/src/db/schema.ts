/**
 * The lab's data: 1,000 products and 200,000 orders — enough for real index lookups and for a
 * report that takes real time, small enough to load in a second or two.
 */
export const SCHEMA_SQL = `
create table if not exists products (
  id int primary key,
  name text not null,
  list_price_cents int not null
);
create table if not exists orders (
  id bigserial primary key,
  product_id int not null references products(id),
  qty int not null,
  created_at timestamptz not null default now()
);
create index if not exists orders_product on orders (product_id);
`;

export const SEED_SQL = `
insert into products
  select i, 'product ' || i, 100 + (i * 37) % 9900 from generate_series(1, 1000) as i
  on conflict do nothing;
insert into orders (product_id, qty)
  select 1 + (i * 7919) % 1000, 1 + i % 5 from generate_series(1, 200000) as i
  where not exists (select 1 from orders limit 1);
analyze products;
analyze orders;
`;

/** Products the API knows (ids 1…PRODUCTS). */
export const PRODUCTS = 1000;
