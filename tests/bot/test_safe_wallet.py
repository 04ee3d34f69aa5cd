"""Safe{Wallet} interop in the chat: a transaction filed there is announced, signed here and executed;
a signature given here reaches the service; a competing transaction is shown beside ours."""

from __future__ import annotations

from proposals.models import ProposalState
from proposals.safe_tx import typed_data
from proposals.safe_wallet import SafeWalletLinks
from tests.helpers.bot import CHAT, OWNER_1, announcement, propose_image, replies_to, running_bot
from tests.helpers.proposing import add_image_data, word
from tests.helpers.safe_wallet import synced_service, wallet_propose, wallet_tx

LINKS = SafeWalletLinks("https://wallet.test", "anvil")


async def test_a_safe_wallet_transaction_is_announced_signed_in_telegram_and_executed(gov, telegram, fake):
    tx = wallet_tx(gov, gov.kms_address, add_image_data(1))
    safe_tx_hash = wallet_propose(gov, fake, gov.owners[1], tx)
    service = synced_service(gov, fake, with_executor=True, links=LINKS)
    async with running_bot(gov, telegram, service, poll_interval=0.3):
        message = await telegram.wait_for(lambda: announcement(telegram, 1), what="the imported announcement")
        # Announced as soon as it is imported, then edited once its Safe{Wallet} signature is counted.
        text = await telegram.wait_for(
            lambda: "Signatures 1/2" in (t := telegram.message(CHAT, message.message_id).text) and t,
            what="the Safe{Wallet} signature counted",
        )
        assert "Safe{Wallet} transaction at nonce 0" in text
        assert f"Allow OS image {word(1)}" in text and "not through dstack-gov" in text
        link = f"https://wallet.test/transactions/tx?safe=anvil:{gov.safe}&amp;id=multisig_{gov.safe}_0x{safe_tx_hash.hex()}"
        assert f'<a href="{link}">Open in Safe{{Wallet}}</a>' in text

        signature = bytes(gov.owners[0].sign_typed_data(full_message=typed_data(tx)).signature)
        _, asked = telegram.say(CHAT, OWNER_1, f"/sign 1 0x{signature.hex()}")
        await telegram.wait_for(lambda: replies_to(telegram, asked), what="the /sign reply")
        await telegram.wait_for(lambda: "✅ Executed" in telegram.message(CHAT, message.message_id).text,
                                what="execution")  # fmt: skip
        assert gov.store.get(1).state is ProposalState.EXECUTED
        assert gov.kms.functions.allowedOsImages(bytes.fromhex(word(1)[2:])).call()


async def test_a_signature_given_in_telegram_reaches_the_service_and_a_competitor_is_flagged(gov, telegram, fake):
    service = synced_service(gov, fake, links=LINKS)
    async with running_bot(gov, telegram, service, poll_interval=0.3) as runtime:
        ours = await propose_image(runtime, 2)
        message = await telegram.wait_for(lambda: announcement(telegram, ours.id), what="our announcement")
        signature = bytes(gov.owners[0].sign_typed_data(full_message=typed_data(ours.safe_tx)).signature)
        _, asked = telegram.say(CHAT, OWNER_1, f"/sign {ours.id} 0x{signature.hex()}")
        await telegram.wait_for(lambda: replies_to(telegram, asked), what="the /sign reply")
        await telegram.wait_for(lambda: gov.owners[0].address in fake.confirmations(ours.safe_tx_hash),
                                what="the signature on the service")  # fmt: skip
        assert fake.txs[ours.safe_tx_hash].proposer == gov.owners[0].address

        wallet_propose(gov, fake, gov.owners[2], wallet_tx(gov, gov.kms_address, add_image_data(3), nonce=ours.nonce))
        theirs = await telegram.wait_for(lambda: announcement(telegram, ours.id + 1), what="the competitor")
        assert f"competing: #{ours.id} also use(s) nonce {ours.nonce}" in theirs.text
        await telegram.wait_for(
            lambda: f"competing: #{ours.id + 1} also" in telegram.message(CHAT, message.message_id).text,
            what="our announcement warning of the competitor",
        )
        assert gov.store.get(ours.id).state is ProposalState.PENDING  # nothing is chosen automatically
