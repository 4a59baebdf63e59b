/** A product row as the API returns it. */
export interface ProductData {
  readonly id: number;
  readonly name: string;
  readonly list_price_cents: number;
}

/** Order statistics of one product. */
export interface OrderStats {
  readonly orders: number;
  readonly units: number;
}

type Query = <R>(text: string, values: unknown[]) => Promise<R[]>;

/** The SQL of the lab's API: small, indexed, real. */
export function productQueries(query: Query) {
  return {
    async product(id: number): Promise<ProductData | undefined> {
      const rows = await query<ProductData>('select id, name, list_price_cents from products where id = $1', [
        id,
      ]);
      return rows[0];
    },
    async allProducts(): Promise<ProductData[]> {
      return query<ProductData>('select id, name, list_price_cents from products order by id', []);
    },
    async orderStats(id: number): Promise<OrderStats> {
      const rows = await query<OrderStats>(
        'select count(*)::int as orders, coalesce(sum(qty), 0)::int as units from orders where product_id = $1',
        [id],
      );
      return rows[0] ?? { orders: 0, units: 0 };
    },
    async recentOrders(id: number): Promise<{ id: string; qty: number }[]> {
      return query<{ id: string; qty: number }>(
        'select id, qty from orders where product_id = $1 order by id desc limit 5',
        [id],
      );
    },
    async topProducts(): Promise<number> {
      const rows = await query<{ n: number }>(
        'select count(*)::int as n from (select product_id from orders group by product_id order by sum(qty) desc limit 10) t',
        [],
      );
      return rows[0]?.n ?? 0;
    },
  };
}
