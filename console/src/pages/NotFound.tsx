import { PageHeader } from '../components/PageHeader';

export function NotFound() {
  return (
    <>
      <PageHeader title="Page not found" />
      <p>
        There is nothing at this address. <a href={import.meta.env.BASE_URL}>Go to your streams</a>.
      </p>
    </>
  );
}
