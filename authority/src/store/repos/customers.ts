import { Repo } from './base.ts';

/** Tables: customers, customer_phones. */
export class CustomersRepo extends Repo {}
